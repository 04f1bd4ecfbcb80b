"""CLI conventions: --help shows every default; `train --config` replays an earlier run."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from thermocad.cli import build_parser
from thermocad.cli.train import _config
from thermocad.training.config import TrainConfig
from thermocad.utils.errors import ConfigError


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_help_shows_every_default():
    for name, sub in _subparsers().items():
        text = " ".join(sub.format_help().split())  # argparse wraps lines anywhere
        for action in sub._actions:
            default = action.default
            # None: among them TrainConfig's flags (unset, the preset's value), checked by
            # test_help_shows_every_train_config_default
            if not action.option_strings or default is None or default is False:
                continue
            if default is argparse.SUPPRESS:
                continue
            # Either argparse appends "(default: X)" or the help text already states it.
            shown = str(default) in text or "default" in (action.help or "")
            assert shown, f"{name} {action.option_strings}: default {default!r} not in --help"


def test_help_shows_every_train_config_default():
    """The TrainConfig flags have no argparse default (an unset flag keeps the preset's value):
    the test above skips them, so each field's default is checked in its own help here."""
    from thermocad.training.config import default_of

    subs = _subparsers()
    checked = 0
    for f in dataclasses.fields(TrainConfig):
        names = {"config": ("train", "lr-find"), "train": ("train",)}.get(f.metadata["cli"], ())
        default = default_of(f)
        if not names or default is None:  # None: no such file or value, nothing to show
            continue
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else str(default)
        for name in names:
            action = next(a for a in subs[name]._actions if a.dest == f.name)
            said = subs[name]._get_formatter()._expand_help(action)
            assert f"(default: {shown})" in said, f"{name} --{f.name}: {said!r}"
            assert said in " ".join(subs[name].format_help().split())  # as printed
            checked += 1
    assert checked >= 25


def test_help_shows_no_empty_defaults():
    for name, sub in _subparsers().items():  # a required option has no default to show
        text = " ".join(sub.format_help().split())
        assert "(default: None)" not in text and "(default: False)" not in text, name


def test_predict_help_names_device_and_format_defaults():
    text = " ".join(_subparsers()["predict"].format_help().split())
    assert "(default: auto)" in text and "(default: csv)" in text


def test_study_and_compare_help_give_the_same_archs_default():
    """Both read the config's archs before DEFAULT_ARCHS (pipeline.load_settings)."""
    from thermocad.pipeline import DEFAULT_ARCHS

    said = {}
    for name in ("study", "compare"):
        action = next(a for a in _subparsers()[name]._actions if "--archs" in a.option_strings)
        said[name] = " ".join(action.help.split())
    default = f"(default: the config's archs, else {','.join(DEFAULT_ARCHS)};"
    assert default in said["study"] and default in said["compare"]


def test_train_config_replays_an_earlier_run(tmp_path):
    earlier = TrainConfig(arch="efficientnet_lite1", size=256, cycles=2, channels=("temperature",))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(earlier.to_dict()))
    parser = build_parser()
    args = parser.parse_args(["train", "--split", "s.csv", "--out", "r", "--config", str(path)])
    assert _config(args) == earlier
    # Flags given on the command line win over the file.
    args = parser.parse_args(
        ["train", "--split", "s.csv", "--out", "r", "--config", str(path), "--size", "128"]
    )
    assert _config(args) == dataclasses.replace(earlier, size=128)
    # A config that only the flags make valid (an earlier version's whole frame with the default
    # asymmetry map): the flags apply before the whole is checked.
    whole = {**TrainConfig().to_dict(), "crop": "none", "channels": ["temperature"]}
    path.write_text(json.dumps(whole))
    flags = ["train", "--split", "s.csv", "--out", "r", "--config", str(path)]
    with pytest.raises(ConfigError, match=r"config.json with the flags given: crop='none'"):
        _config(parser.parse_args(flags))
    fixed = _config(parser.parse_args([*flags, "--background", "keep"]))
    assert (fixed.crop, fixed.background) == ("none", "keep")
    # A run folder or its model.json serve as well as its config.json.
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(earlier.to_dict()))
    (run / "model.json").write_text(json.dumps({"config": earlier.to_dict(), "tensors": {}}))
    for given in (run, run / "model.json"):
        args = parser.parse_args(
            ["train", "--split", "s.csv", "--out", "r", "--config", str(given)]
        )
        assert _config(args) == earlier


def test_train_config_errors_are_one_line(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    args = build_parser().parse_args(["train", "--split", "s", "--out", "r", "--config", str(bad)])
    with pytest.raises(ConfigError, match="config.json: not a readable thermocad config"):
        _config(args)
    full = tmp_path / "full.json"
    full.write_text(json.dumps(TrainConfig().to_dict()))
    args = build_parser().parse_args(
        ["train", "--split", "s", "--out", "r", "--config", str(full), "--smoke"]
    )
    with pytest.raises(ConfigError, match="drop --smoke .*full.json is a full run's"):
        _config(args)


def test_replaying_a_smoke_runs_config_says_so_or_needs_smoke(tmp_path, capsys):
    """A smoke run's config keeps 2 batches per epoch (max_batches, no flag of its own): it was
    replayed silently as a run; now it needs --smoke, and the log says it."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TrainConfig.smoke(seed=2).to_dict()))
    flags = ["train", "--split", "s.csv", "--out", "r", "--config", str(path)]
    with pytest.raises(ConfigError, match=r"config.json: a smoke run's config \(2 batches per "
                       r"epoch, max_batches=2.*add --smoke to replay it"):  # fmt: skip
        _config(build_parser().parse_args(flags))
    assert _config(build_parser().parse_args([*flags, "--smoke"])) == TrainConfig.smoke(seed=2)
    assert "a smoke run: 2 batches per epoch (max_batches)" in capsys.readouterr().err


def test_replaying_a_run_trains_on_its_fold(tmp_path, capsys):
    """A run trained with --fold 2, replayed without --fold, trains on fold 2 (its model.json's)
    rather than on the split column; --fold given wins, and a split-column run has none."""
    run = tmp_path / "run"
    run.mkdir()
    config = TrainConfig(size=256)
    (run / "config.json").write_text(json.dumps(config.to_dict()))
    meta = {"config": config.to_dict(), "tensors": {}, "fold": 2}
    (run / "model.json").write_text(json.dumps(meta))
    parser = build_parser()
    for given in (run, run / "config.json", run / "model.json"):
        args = parser.parse_args(["train", "--split", "s", "--out", "r", "--config", str(given)])
        assert _config(args) == config and args.fold == 2
        assert "its fold: 2 (model.json; --fold gives another)" in capsys.readouterr().err
    args = parser.parse_args(["train", "--split", "s", "--out", "r", "--config", str(run),
                              "--fold", "1"])  # fmt: skip
    assert _config(args) == config and args.fold == 1
    assert "--fold 1 (the run's: 2)" in capsys.readouterr().err
    (run / "model.json").write_text(json.dumps({**meta, "fold": None}))
    args = parser.parse_args(["train", "--split", "s", "--out", "r", "--config", str(run)])
    assert _config(args) == config and args.fold is None
    # lr-find has no folds: the same folder serves for its config alone.
    args = parser.parse_args(["lr-find", "--split", "s", "--config", str(run)])
    assert _config(args) == config


def test_fits_command_line_defaults_are_the_library_functions():
    """`thermocad fit`'s flags default to what `thermocad.fit.fit` does when called from Python
    (the parser cannot import the library at --help time, so the value is written twice): the
    folds and the yes/no flags. Not compared: a library default of None (the seed: the
    config's, 0 by default, as the flag's) and n_boot, which has no flag."""
    import inspect

    from thermocad.fit import fit

    fit_parser, compared = _subparsers()["fit"], []
    for name, param in inspect.signature(fit).parameters.items():
        action = next((a for a in fit_parser._actions if a.dest == name), None)
        if action is None or param.default is inspect.Parameter.empty or param.default is None:
            continue
        assert action.default == param.default, f"fit --{name}: {action.default!r} in the CLI"
        compared.append(name)
    assert compared == ["folds", "force", "resume"]
