"""The `thermocad` command: a thin layer that parses arguments and calls library functions.

Each module in this package registers a group of subcommands and imports the heavy library
code (torch, fastai, matplotlib, gradio) only inside its handlers, so `--help` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import shlex
import sys
import warnings
from pathlib import Path

from thermocad.utils.errors import ThermocadError
from thermocad.utils.extras import missing_extra_hint
from thermocad.utils.progress import one_line, quiet_mode
from thermocad.utils.signals import exit_status, interrupt_received

EXAMPLES = """typical use (COMMAND --help for each; docs/ in the repository for the rest):
  thermocad demo                                     the whole study on synthetic women
  thermocad fit DATA --labels labels.csv --out run   a model of your labelled women
  thermocad predict run FILE_OR_FOLDER --out p.csv   P(Sick) and the call for new files
  thermocad explain run DATA/FILE --out figures      a Grad-CAM figure per file
  thermocad serve run                                the web app on http://127.0.0.1:7860
  thermocad study DATA --labels labels.csv --out study --nested   the honest estimate"""

# Subcommand groups, in the order a user meets them in the pipeline.
_GROUPS = ("data", "synth", "train", "fit", "evaluate", "app")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """`--help` shows every option's default, unless its help already says "(default..." or it has
    none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "(default" in text or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return action.help
        return super()._get_help_string(action)


def output_file(text: str) -> str:
    """An argparse type for an output that is one file: a name ending in '/' is a folder."""
    if text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text!r} ends in '/', a folder: give the name of "
                                         "the file to write, inside it")  # fmt: skip
    return text


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser whose errors name a misspelt option's closest match
    (`--fromat: did you mean --format?`), also when argparse reports something else first (a
    required option missing because it was misspelt)."""

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        import difflib

        known = [o for a in self._actions for o in a.option_strings]
        given = getattr(self, "_given", [])
        for token in given[: given.index("--")] if "--" in given else given:  # then files
            name = token.split("=", 1)[0]
            if not name.startswith("--") or any(o.startswith(name) for o in known):
                continue  # an option of this command (argparse takes unique prefixes)
            close = difflib.get_close_matches(name, known, n=1)
            message += f"; {name}: " + (f"did you mean {close[0]}?" if close else "no such option")
        super().error(message)


def _subparser(**kwargs) -> argparse.ArgumentParser:
    """Every subcommand's parser, with the defaults in its --help."""
    kwargs.setdefault("formatter_class", HelpFormatter)
    parser = CommandParser(**kwargs)
    # Also after the command (`thermocad prepare ... -q`); SUPPRESS keeps the global one's value.
    trains = kwargs.get("prog", "").rpartition(" ")[2] in TRAINING_COMMANDS
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help=QUIET_HELP + (" (one line per epoch)" if trains else ""))  # fmt: skip
    return parser


# Not fewer lines: a log file's (the same as when stderr is not a terminal). Each command's -q
# says it of that command: one that trains no model without the epochs.
QUIET_HELP = "plain log lines instead of progress bars, for log files"
TRAINING_COMMANDS = {"train", "fit", "study", "demo", "compare"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thermocad",
        description=(
            "Computer-aided detection of breast cancer in infrared thermograms.\n"
            "Research software: thermography is an adjunct to mammography, never a\n"
            "stand-alone diagnosis."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the examples' lines as written
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help=QUIET_HELP + " (when training: one line per epoch)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_subparser)
    add_parser = sub.add_parser

    def described(name: str, **kwargs) -> argparse.ArgumentParser:
        """A subcommand whose --help opens with its one-line help when it has no description."""
        if kwargs.get("help") and not kwargs.get("description"):
            kwargs["description"] = kwargs["help"][0].upper() + kwargs["help"][1:] + "."
        return add_parser(name, **kwargs)

    sub.add_parser = described
    for name in _GROUPS:
        module = importlib.import_module(f"thermocad.cli.{name}")
        module.register(sub)
    return parser


class _Version(argparse.Action):
    """--version: thermocad's, with its commit, Python's, the machine's and the libraries'
    (what a bug report needs), read only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the versions of thermocad, Python and the libraries (for "
                         "a bug report) and exit")  # fmt: skip

    def __call__(self, parser, namespace, values, option_string=None):
        from thermocad.utils.versions import environment

        print(environment())
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    # fastai's own import calls torch.jit.script; its deprecation warning is not the user's to fix.
    warnings.filterwarnings("ignore", r"`torch\.jit\.script` is deprecated", FutureWarning)
    from thermocad.io.pool import quiet_decoders

    quiet_decoders()  # a huge image is refused in thermocad's words, not Pillow's too
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the command's own parser: its usage, and a suggestion
        commands = parser._subparsers._group_actions[0].choices if parser._subparsers else {}
        (commands.get(getattr(args, "command", None)) or parser).error(
            f"unrecognized arguments: {' '.join(extra)}"
        )
    # The command as typed, for outputs that say how they were made (the report's header).
    args.command_line = shlex.join(["thermocad", *(sys.argv[1:] if argv is None else argv)])
    if not getattr(args, "func", None):
        parser.print_help()
        print("thermocad: error: no command given (one of those above)", file=sys.stderr)
        return 2
    from thermocad.utils.ranks import drop_stray_rank
    from thermocad.utils.versions import COMMAND

    if note := drop_stray_rank():
        print(note, file=sys.stderr)
    typed = COMMAND.set(args.command_line)  # model.json's record of it
    try:
        with quiet_mode(args.quiet):
            return _run(args)
    finally:
        COMMAND.reset(typed)


def _run(args: argparse.Namespace) -> int:
    """The subcommand, its errors a user can fix as one line on stderr and exit status 2."""
    try:
        from thermocad.cli.outputs import check_outputs

        check_outputs(args)  # a result never inside a model's folder
        return int(args.func(args) or 0)
    except ThermocadError as exc:
        if interrupt_received():  # a reader stopped by Ctrl+C fails of it: no file's fault
            return _interrupted(args)
        print(f"thermocad: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # an optional dependency no handler checked for
        hint = missing_extra_hint(exc.name or "")
        if hint is None:
            return _bug(exc, args)
        print(f"thermocad: error: {hint}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `thermocad models | head`: the reader left; nothing to say
        # Python would complain again flushing stdout at exit: point it at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a command a closed pipe stopped (128 + SIGPIPE)
    except OSError as exc:  # unwritable output, full disk, ...: the user's to fix, not a bug
        if interrupt_received():
            return _interrupted(args)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"thermocad: error: {one_line(f'{where}{exc.strerror or exc}')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted(args)
    except Exception as exc:
        if interrupt_received():  # Ctrl+C landed inside a library, which failed of it
            return _interrupted(args)
        from thermocad.utils.files import no_room

        # The machine's limits, where a library says them in its own error (safetensors' full
        # disk, PyTorch's failed allocation); anything else is a bug: its traceback.
        why = "out of memory" if out_of_memory(exc) else no_room(exc)
        if why is None:
            return _bug(exc, args)
        print(f"thermocad: error: {why} ({one_line(repr(exc))[:200]}){_resume_hint(args)}",
              file=sys.stderr)  # fmt: skip
        return 2


def _bug(exc: Exception, args: argparse.Namespace) -> int:
    """An error thermocad did not foresee: its traceback, then what to do with it."""
    import traceback

    traceback.print_exc()
    noted = sorted(exc.__dict__.get("_thermocad_noted", ()))  # run folders' marks (utils/stops)
    where = f"; they are also saved in {noted[0]}" if noted else ""
    print("thermocad: error: an unexpected error, a bug in thermocad. Please report it with the "
          "command you ran, the messages above and the output of `thermocad --version` "
          f"(docs/reliability.md, 'Reporting a problem'){where}{_resume_hint(args)}",
          file=sys.stderr)  # fmt: skip
    return 1


def out_of_memory(exc: BaseException) -> bool:
    """numpy's MemoryError, or PyTorch's (CPU and CUDA: OutOfMemoryError) and ONNX Runtime's
    words for a failed allocation."""
    text = str(exc)
    return (isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"
            or "allocate memory" in text or "out of memory" in text)  # fmt: skip


def _interrupted(args: argparse.Namespace) -> int:
    print(f"thermocad: interrupted{_resume_hint(args)}", file=sys.stderr)
    return exit_status()  # 130 after Ctrl+C, 143 after SIGTERM


def _resume_hint(args: argparse.Namespace) -> str:
    """fit, train, study and compare continue where they stopped, once they saved something to
    continue from (a checkpoint, their record); a rerun without --resume is refused."""
    from thermocad.utils.files import COMPARE_RESUME, FIT_RESUME, STUDY_RESUME

    if not getattr(args, "out", None) or not Path(args.out).exists():
        return ""
    records = {"fit": FIT_RESUME, "study": STUDY_RESUME, "compare": COMPARE_RESUME,
               "train": "checkpoint/state.json"}  # fmt: skip
    if args.command not in records:  # the demo starts again (a few minutes); others have none
        return f"; to start {args.out} again, run it with --force" * (args.command == "demo")
    if (Path(args.out) / records[args.command]).is_file():
        instead = " (in place of --force)" if getattr(args, "force", False) else ""
        return f"; to continue {args.out}, run it again with --resume{instead}"
    return (f"; it stopped before saving anything to continue from in {args.out}: run it again "
            "with --force")  # fmt: skip


def console() -> None:
    """The `thermocad` command (and `python -m thermocad`): main(), then exit with its status.
    Ctrl-C and SIGTERM stop it alike (utils.signals). After either, while Python shuts down
    (joining reader threads and processes), a second one ends the process at once instead of
    printing a traceback from inside that shutdown; main() called from Python leaves the
    caller's handlers alone."""
    import signal

    from thermocad.utils.signals import sigint_as_sticky_interrupt

    sigint_as_sticky_interrupt()
    try:  # an ASCII stdout (LANG=C without UTF-8 mode): a locale review's --help crashed on °C
        "°±≥".encode(getattr(sys.stdout, "encoding", None) or "utf-8")  # closed: None
    except (UnicodeEncodeError, LookupError):
        with contextlib.suppress(AttributeError):  # a stream that cannot be reconfigured
            sys.stdout.reconfigure(errors="backslashreplace")
    try:
        code = main()
    except KeyboardInterrupt:  # one that landed outside _run's try: while starting, or in a
        # handler (a kill review: the process died of SIGINT instead of exiting 130 or 143)
        print("thermocad: interrupted", file=sys.stderr)
        code = exit_status()
    if code in (130, 143):  # either signal again, while Python shuts down: end at once
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: os._exit(code))
    sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())
