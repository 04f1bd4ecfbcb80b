"""lr-find's --out: a PNG's name, outside the folders of the split's thermograms."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers.training import make_split
from thermocad.cli import main
from thermocad.training.config import TrainConfig
from thermocad.training.run import lr_find
from thermocad.utils.errors import ConfigError, OutputPathError


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return make_split(tmp_path_factory.mktemp("data"), {"train": 2, "valid": 1, "test": 1})


@pytest.mark.parametrize("name", ["lr.pdf", "m.onnx", "T0001.txt", "lr"])
def test_lr_find_refuses_an_out_that_is_not_a_png_name(split, tmp_path, name):
    """Its bytes are a PNG whatever the name: `--out m.onnx --force` replaced a model with one,
    `--out data/T0001.txt --force` a thermogram."""
    out = tmp_path / name
    out.write_bytes(b"an earlier file")
    with pytest.raises(ConfigError, match=f"{name}: --out is written as a PNG image: give it a "
                       "name ending in .png$"):  # fmt: skip
        lr_find(split, out, TrainConfig.smoke(), force=True)
    assert out.read_bytes() == b"an earlier file"


def test_lr_find_refuses_an_out_among_the_splits_thermograms(split, tmp_path, capsys):
    """The next prepare or predict of that folder would read the plot as a thermogram."""
    data = split.parent
    for out in (data / "lr.png", data / "plots" / "lr.png"):
        with pytest.raises(OutputPathError, match="is inside the data folder"):
            lr_find(split, out, TrainConfig.smoke())
        assert not out.exists()
    argv = ["lr-find", "--split", str(split), "--smoke", "--out", str(data / "lr.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"thermocad: error: {data / 'lr.png'}: is inside the data folder")
    assert len(err.splitlines()) == 1


def test_lr_find_out_may_sit_beside_a_split_file_kept_apart_from_the_data(split, tmp_path):
    """The split file's own folder is not the data: only the thermograms' folders are."""
    from thermocad.training.outputs import check_lr_find_out

    own = tmp_path / "splits"
    own.mkdir()
    shutil.copy(split, own / "split.csv")
    check_lr_find_out(own / "split.csv", own / "lr.png", force=False)  # no refusal
    with pytest.raises(OutputPathError, match="is inside the data folder"):
        check_lr_find_out(own / "split.csv", split.parent / "lr.png", force=False)


def test_lr_find_keeps_an_existing_plot_unless_forced(split, tmp_path, capsys):
    """Refused before anything runs, in one line naming the file and --force."""
    out = tmp_path / "lr.png"
    out.write_bytes(b"an earlier plot")
    assert main(["lr-find", "--split", str(split), "--smoke", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"thermocad: error: {out}")
        and "--force" in err
        and len(err.splitlines()) == 1
    )
    assert out.read_bytes() == b"an earlier plot"


def test_lr_find_smoke_suggests_a_rate(split, tmp_path, capsys):
    """--smoke stops each epoch after two batches; lr_find's own iterations still run whole
    (they left fastai too few points: the suggestion was NaN and the command exited 0)."""
    assert (
        main(["lr-find", "--split", str(split), "--smoke", "--out", str(tmp_path / "lr.png")]) == 0
    )
    said = capsys.readouterr()
    assert "lr_find suggests" in said.err and "nan" not in said.err
    assert said.out == f"plot: {tmp_path / 'lr.png'}\n"  # what it wrote, on stdout


def test_lr_find_without_a_suggestion_is_an_error_and_keeps_a_plot_written_meanwhile(
    split, tmp_path, monkeypatch
):
    from thermocad.training import run
    from thermocad.utils.errors import OutputExistsError

    out = tmp_path / "lr.png"
    monkeypatch.setattr(run, "find_lr", lambda learn, n: (float("nan"), [1e-5, 1e-4], [0.7, 0.9]))
    with pytest.raises(ConfigError, match=r"lr_find found no suggestion: 2 points .*lr.png"):
        lr_find(split, out, TrainConfig.smoke())
    assert out.read_bytes()[:4] == b"\x89PNG"  # the curve, to see why

    def another_command_writes(learn, n):  # the name was free when lr-find checked it
        out.write_bytes(b"written meanwhile")
        return 1e-3, [1e-5, 1e-4, 1e-3], [0.7, 0.6, 0.5]

    out.unlink()
    monkeypatch.setattr(run, "find_lr", another_command_writes)
    with pytest.raises(OutputExistsError):
        lr_find(split, out, TrainConfig.smoke())
    assert out.read_bytes() == b"written meanwhile"


def test_train_whose_lr_find_finds_no_rate_leaves_no_new_folder(split, tmp_path, monkeypatch):
    """Nothing was trained: a folder the run made goes, so the same command with --lr runs
    (it had been left INCOMPLETE, refused as existing without --force)."""
    from thermocad.training import run
    from thermocad.training.run import train

    monkeypatch.setattr(run, "find_lr", lambda learn, n: (float("nan"), [1e-5, 1e-4], [0.7, 0.9]))
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="lr_find found no suggestion .*give --lr"):
        train(split, out, TrainConfig.smoke(lr=None))  # --lr-find
    assert not out.exists()
    train(split, out, TrainConfig.smoke(lr=1e-3))
    assert (out / "model.json").is_file()
    # Forced over that run, it fails the same way: the folder was not made by this call, so it
    # is not emptied (fit's final training runs so in its own folder, beside cohort/ and cv/).
    with pytest.raises(ConfigError, match="lr_find found no suggestion"):
        train(split, out, TrainConfig.smoke(lr=None), force=True)
    from thermocad.utils.files import INCOMPLETE, MADE_BY

    assert (out / MADE_BY).is_file() and (out / INCOMPLETE).is_file()  # said unfinished, kept
