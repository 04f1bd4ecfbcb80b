"""TrainConfig: every field validated, old configs loaded, the CLI derived from the fields."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from thermocad.cli import build_parser
from thermocad.training.config import REMOVED, TrainConfig
from thermocad.utils.errors import ConfigError


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"crop": "head"}, "unknown crop 'head'; choose one of none, breasts"),
        ({"norm": "z"}, "unknown norm 'z'; choose one of robust, relative, intensity"),
        ({"marker": "blur"}, "unknown marker 'blur'"),
        (
            {"background": "remove"},
            "removed option background='remove' .*; choose one of keep, symmetric",
        ),
        ({"channels": ("temperature", "depth")}, "unknown channels 'depth'"),
        ({"channels": ("asymmetry", "asymmetry")}, "each once"),
        ({"ensemble": "stack"}, "unknown ensemble 'stack'"),
        ({"size": 8}, "size must be at least 16"),
        ({"size": "big"}, "size: 'big' is not int or None"),
        ({"batch_size": 1}, "batch_size must be at least 2"),
        ({"tta": 100}, "tta must be at most 32"),  # model.json would refuse it at load
        ({"pretrained": "yes"}, "pretrained: 'yes' is not bool"),
        ({"lrs": ["fast"]}, "lrs: .* is not a tuple of float"),
        ({"lrs": 1e-3}, "lrs: .* is not a tuple of float"),
        ({"lrs": (-1.0,)}, r"lrs must each be above 0, got \[-1.0\]"),
        ({"lrs": (0.0, 0.0, 0.0), "cycles": 3}, r"lrs must each be above 0, got \[0.0, 0.0, 0.0\]"),
        ({"lrs": (1e-4, 0.0, 1e-2)}, "lrs must each be above 0"),
        ({"cycle_len": 0}, "cycle_len must be at least 1"),
        ({"norm_width": 0.0}, "norm_width must be at least 0.5"),
        ({"norm": "celsius"}, "fixed Celsius window .* was removed"),
        ({"lr": float("nan")}, "lr must be a finite number, got nan"),
        ({"lrs": (1e-4, float("inf"))}, "lrs must be a finite number"),
        ({"norm_width": float("inf")}, "norm_width must be a finite number"),
        ({"lrs": (1e-4, 0.5, 0.5, 1e-2)}, r"lrs: 3 learning rates .* or 1 for all three, got 4"),
        (
            {"lrs": (1e-4, 1e-2)},
            r"lrs: 3 learning rates \(early body, late body, head\) or 1 .* got 2",
        ),
        ({"lrs": ()}, r"lrs: 3 learning rates .* got 0"),
        ({"lr": 0.0}, "lr must be above 0, got 0.0"),
        ({"lr": -1.0}, "lr must be above 0, got -1.0"),  # one message, whatever the sign
        ({"lr": -1e-3}, "lr must be above 0"),
        ({"head_epochs": 0}, "nothing to train: head_epochs, frozen_cycles and cycles are all 0"),
        ({"augmentation": {"zoom": 0}}, "augmentation zoom is the largest zoom-in, at least 1"),
        ({"augmentation": {"flip": "no"}}, "augmentation flip must be true or false, got 'no'"),
        ({"augmentation": {"rotate": "ten"}}, "augmentation rotate must be a number >= 0"),
        (
            {"augmentation": {"rotat": 5}},
            r"augmentation: unknown options \['rotat'\] \(did you "
            r"mean 'rotate'\?\); valid: flip, offset, rotate",
        ),
    ],
)
def test_every_bad_value_is_a_config_error_naming_the_choices(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(changes) if "augmentation" in changes else TrainConfig(**changes)


def test_json_lists_become_tuples():
    # A study config or arch_overrides entry is JSON: its lists stand for the tuple fields.
    c = TrainConfig(channels=["temperature"], lrs=[1e-4, 1e-3, 1e-2])
    assert c.channels == ("temperature",) and c.lrs == (1e-4, 1e-3, 1e-2)
    assert hash(c) == hash(TrainConfig(channels=("temperature",), lrs=(1e-4, 1e-3, 1e-2)))
    assert TrainConfig(lrs=[1e-3]).lrs == (1e-3,)  # one for all three groups


def test_presets_and_defaults_are_valid():
    assert TrainConfig().size == 320 and TrainConfig.study().size is None
    assert TrainConfig.smoke(seed=3).seed == 3 and TrainConfig.smoke().max_batches == 2


def test_removed_options_are_gone_and_old_configs_still_load():
    names = {f.name for f in fields(TrainConfig)}
    assert not names & {"mirror", "optimizer", "schedule", "precompute", "balance"}
    assert not hasattr(TrainConfig, "with_")
    old = {**TrainConfig().to_dict(), **REMOVED}  # a model.json written before the removal
    assert TrainConfig.from_dict(json.loads(json.dumps(old))) == TrainConfig()
    for name, value in {"mirror": True, "optimizer": "adam", "schedule": "one_cycle",
                        "background": "remove", "precompute": False,
                        "balance": "sampler"}.items():  # fmt: skip
        with pytest.raises(ConfigError, match=f"removed option {name}"):
            TrainConfig.from_dict({**TrainConfig().to_dict(), name: value})
    with pytest.raises(ConfigError, match="unknown training options"):
        TrainConfig.from_dict({"no_such_option": 1})
    # The window was given as norm_low..norm_high before norm_width: the same relative window.
    windowed = {**TrainConfig().to_dict(), "norm_low": 20.0, "norm_high": 30.0}
    del windowed["norm_width"]
    assert TrainConfig.from_dict(windowed) == TrainConfig(norm_width=10.0)
    with pytest.raises(ConfigError, match="Celsius window .* was removed"):
        TrainConfig.from_dict({**windowed, "norm": "celsius"})


def _parse(*argv: str):
    from thermocad.cli.train import _config

    return _config(build_parser().parse_args(["train", "--split", "s.csv", "--out", "o", *argv]))


def test_cli_flags_come_from_the_fields():
    assert _parse() == TrainConfig()
    cfg = _parse("--crop", "none", "--channels", "temperature", "--background", "keep", "--lrs",
                 "1e-4", "1e-3", "1e-2", "--no-pretrained", "--size", "256", "--tta", "2")  # fmt: skip
    assert cfg == TrainConfig(crop="none", channels=("temperature",), background="keep",
                              lrs=(1e-4, 1e-3, 1e-2), pretrained=False, size=256, tta=2)  # fmt: skip
    both = _parse("--channels", "temperature", "asymmetry")
    assert both == TrainConfig(channels=("temperature", "asymmetry"))
    assert _parse("--smoke", "--seed", "4") == TrainConfig.smoke(seed=4)
    assert _parse("--study-recipe").tta == 4 and _parse("--lr-find").lr is None
    with pytest.raises(SystemExit):
        _parse("--crop", "head")  # argparse's choices are the config's


def test_help_shows_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in fields(TrainConfig):
        if f.metadata["cli"]:
            assert "--" + f.name.replace("_", "-") in text
    assert "(default: efficientnet_lite0)" in text and "(default: 0.0001 0.001 0.01)" in text
    assert not any(
        f"--{name}" in text for name in ("mirror", "optimizer", "schedule", "precompute")
    )


def test_augmentation_takes_numpy_numbers_as_a_sweep_gives_them():
    import numpy as np

    from thermocad.preprocess.augment import Augmentation

    aug = Augmentation(zoom=np.float32(1.2), rotate=np.int64(5), flip=np.bool_(False))
    assert aug.zoom == pytest.approx(1.2) and aug.rotate == 5 and not aug.flip


def test_an_augmentation_given_as_a_dict_in_python_says_how_to_give_it():
    # from_dict (a config file) takes a dict; the dataclass itself takes an Augmentation.
    from thermocad.preprocess.augment import Augmentation

    with pytest.raises(
        ConfigError,
        match=r"use Augmentation\(\*\*\{'rotate': 5\}\) \(from thermocad\.preprocess\.augment import Augmentation\)",
    ):
        TrainConfig(augmentation={"rotate": 5})
    assert TrainConfig.from_dict({"augmentation": {"rotate": 5}}).augmentation == Augmentation(
        rotate=5
    )


def test_a_config_of_two_lrs_from_an_earlier_version_still_loads_as_it_trained():
    # Two rates were fastai's slice(first, last), spread over the three layer groups.
    from fastai.basics import even_mults

    old = TrainConfig.from_dict({**TrainConfig().to_dict(), "lrs": [1e-3, 1e-2]})
    assert old.lrs == pytest.approx(tuple(even_mults(1e-3, 1e-2, 3)))


@pytest.mark.parametrize("options", [{"crop": "none"}, {"crop": "none", "channels": ("temperature",)},
                                     {"crop": "none", "background": "keep"}])  # fmt: skip
def test_mirroring_inputs_are_refused_on_the_whole_frame(options):
    # The asymmetry channel and background "symmetric" mirror about the chest box's centre; on
    # the whole frame that is the frame's centre, i.e. where the woman stood.
    with pytest.raises(ConfigError, match=r"mirror about the chest box's centre.*'keep'"):
        TrainConfig(**options)
    assert TrainConfig(crop="none", channels=("temperature",), background="keep")


def test_a_partial_config_takes_todays_defaults_and_an_old_runs_config_its_own():
    # A config written by hand: what it leaves out is today's default (it took the fallbacks
    # of configs from before `ensemble` and `background`: the CNN alone, the room kept).
    assert TrainConfig.from_dict({"size": 256}) == TrainConfig(size=256)
    assert TrainConfig.from_dict({"seed": 3, "tta": 0}).ensemble == "baseline"
    # A run's config.json from before those options: the model it describes.
    old = {k: v for k, v in TrainConfig().to_dict().items() if k not in ("ensemble", "background")}
    then = TrainConfig.from_dict(old)
    assert (then.ensemble, then.background) == ("none", "keep")
    # The first version's config.json (whole frame, norm_low..norm_high): the room as recorded,
    # which its whole frame needs (background "symmetric" is refused on it).
    first = {"arch": "efficientnet_lite0", "pretrained": True, "weights": None, "size": None,
             "batch_size": 8, "lr": 0.01, "lr_find_iters": 100, "precompute": True,
             "head_epochs": 1, "frozen_cycles": 2, "schedule": "sgdr", "cycles": 3,
             "cycle_len": 1, "cycle_mult": 2, "lrs": [1e-4, 1e-3, 1e-2], "tta": 4, "seed": 0,
             "balance": "loss", "norm": "robust", "norm_low": 22.0, "norm_high": 36.0,
             "channels": ["temperature"], "crop": "none", "augmentation": {},
             "max_batches": None}  # fmt: skip
    loaded = TrainConfig.from_dict(first)
    assert (loaded.ensemble, loaded.background, loaded.crop) == ("none", "keep", "none")


def test_the_study_only_options_say_so_in_their_help():
    """tta, frozen_cycles, cycles and lrs serve --study-recipe (reproducing the 2019 study), not
    the default, against which they measured worse: their help says both."""
    helps = {f.name: f.metadata["help"] for f in fields(TrainConfig)}
    for name in ("tta", "frozen_cycles", "cycles", "lrs"):
        assert "2019 study's" in helps[name] and "kept to reproduce it" in helps[name], name
    for name in ("tta", "frozen_cycles", "cycles"):
        assert "measured worse" in helps[name] and "records/decisions.md" in helps[name], name


@pytest.mark.train
def test_training_imports_without_fastais_deprecation_warning():
    """fastai's import calls torch.jit.script (deprecated): not the user's warning to read at
    the top of every training from Python, as the CLI already filters it."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-W", "error::FutureWarning", "-c",
                          "import thermocad.training.run"], capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_resumed_fits_fingerprint_reads_the_bytes_not_the_times(tmp_path):
    """An edit with its time put back is a change; a file saved again unchanged is not."""
    import os

    from thermocad.training.fit_resume import fingerprint

    data = tmp_path / "data"
    data.mkdir()
    (data / "T0001.txt").write_text("30.1 30.2\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,diagnosis\n1,Healthy\n")
    before = fingerprint(data, labels)
    stat = os.stat(data / "T0001.txt")
    (data / "T0001.txt").write_text("30.1 30.9\n")  # the same size
    os.utime(data / "T0001.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint(data, labels) != before
    (data / "T0001.txt").write_text("30.1 30.2\n")  # saved again as it was: a new time only
    assert fingerprint(data, labels) == before
    # It walks the data as io.find does: a linked folder once (a loop back adds nothing), and
    # no deeper than MAX_DEPTH (rglob had recursed into a 1,100-deep tree: RecursionError).
    from thermocad.io.find import MAX_DEPTH

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "T0002.txt").write_text("30.3 30.4\n")
    (data / "linked").symlink_to(tmp_path / "elsewhere")
    with_link = fingerprint(data, labels)
    assert with_link != before
    (tmp_path / "elsewhere" / "back").symlink_to(data)
    assert fingerprint(data, labels) == with_link
    deep = data
    for _ in range(MAX_DEPTH + 5):
        deep = deep / "d"
        deep.mkdir()
    (deep / "T0003.txt").write_text("30.5 30.6\n")  # past the walk: not the data's
    assert fingerprint(data, labels) == with_link


def test_the_source_commit_is_recorded_only_for_a_clone_that_tracks_it(tmp_path):
    """model.json's libraries name thermocad's commit when it runs from a clone; a folder git
    does not track (a wheel's, or a virtualenv's inside another project's clone) gives None."""
    import subprocess
    from pathlib import Path

    from thermocad.utils.versions import library_versions, source_commit

    package = Path(__import__("thermocad").__file__).parent
    head = subprocess.run(["git", "-C", str(package), "rev-parse", "--short=12", "HEAD"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if head.returncode != 0:
        pytest.skip("thermocad does not run from a git clone here")
    assert source_commit().removesuffix("+changes") == head.stdout.strip()
    assert library_versions()["thermocad"].endswith(f"(commit {source_commit()})")
    repo = tmp_path / "project"
    (repo / ".venv" / "thermocad").mkdir(parents=True)
    (repo / ".venv" / "thermocad" / "__init__.py").write_text("")
    (repo / ".gitignore").write_text(".venv/\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert source_commit(repo / ".venv" / "thermocad") is None  # ignored: not our source
    assert source_commit(tmp_path) is None  # no clone at all


def test_model_json_records_the_command_as_typed_from_the_command_line(monkeypatch, capsys):
    # A support review: the options were in config.json, the command as typed nowhere.
    import thermocad.models.registry as registry
    from thermocad.cli import main
    from thermocad.training.outputs import provenance
    from thermocad.utils.versions import COMMAND

    seen = []
    monkeypatch.setattr(registry, "list_archs", lambda: seen.append(COMMAND.get()) or [])
    assert main(["models"]) == 0 and seen == ["thermocad models"]
    assert COMMAND.get() is None  # gone with the command: a later Python call records none
    assert "command" not in provenance(TrainConfig())
    typed = COMMAND.set("thermocad fit data --labels l.csv --out run")
    try:
        assert provenance(TrainConfig())["command"] == "thermocad fit data --labels l.csv --out run"
    finally:
        COMMAND.reset(typed)
    assert provenance(TrainConfig())["libraries"]["python"].startswith("3.")
