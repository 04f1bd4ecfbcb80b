"""`compare --resume` (evaluation/resume.py): an interrupted comparison continues to the result
an uninterrupted one gives, and only the same job is continued."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thermocad.evaluation import compare as C
from thermocad.evaluation import resume as R
from thermocad.utils.errors import ConfigError, OutputExistsError


class Trainer:
    """A stand-in for train(): deterministic guesses per candidate and fold; `stop` (a path
    suffix) is killed once, leaving a checkpoint as train() does, which `resume=True` finishes
    (`inside`: as a run stopped inside a training stage, said in its model.json)."""

    def __init__(self, stop: str | None = None, inside: bool = False):
        self.stop, self.calls, self.inside = stop, [], inside

    def __call__(self, split_csv, run_dir, config, resume=False):
        run_dir = Path(run_dir)
        where = "/".join(run_dir.parts[-2:])
        self.calls.append((str(run_dir), resume))
        if self.stop and str(run_dir).endswith(self.stop):
            self.stop = None
            (run_dir / "checkpoint").mkdir(parents=True, exist_ok=True)
            (run_dir / "checkpoint" / "state.json").write_text("{}")
            (run_dir / "INCOMPLETE").write_text("training started; this run is not finished\n")
            raise KeyboardInterrupt
        if resume:
            assert (run_dir / "checkpoint" / "state.json").is_file()
            shutil.rmtree(run_dir / "checkpoint")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)  # force=True, as compare's trainer
            run_dir.mkdir(parents=True)
        df = pd.read_csv(split_csv)
        valid = df[df["split"] == "valid"]
        roles = df[df["split"] != "test"][["patient_id", "split"]].rename(columns={"split": "role"})
        roles.to_csv(run_dir / "trained_on.csv", index=False)  # as train() writes it
        meta = {"tensors": {"w": [3, 4]}}
        if resume and self.inside:
            meta["resumed_inside"] = [{"stage": "head", "epoch": 1}]
        (run_dir / "model.json").write_text(json.dumps(meta))
        seed = [len(valid), *where.encode()]
        prob = np.random.default_rng(seed).random(len(valid))
        valid.assign(prob=prob)[["path", "prob"]].to_csv(run_dir / "valid_predictions.csv",
                                                         index=False)  # fmt: skip
        (run_dir / "INCOMPLETE").unlink(missing_ok=True)
        return run_dir


def _same_results(a: Path, b: Path, models) -> None:
    """comparison.csv (but its timings), best.json and every out-of-fold prediction alike."""
    ta, tb = (pd.read_csv(d / "comparison.csv").drop(columns="train_time_s") for d in (a, b))
    pd.testing.assert_frame_equal(ta, tb)
    assert json.loads((a / "best.json").read_text()) == json.loads((b / "best.json").read_text())
    for name in models:
        pd.testing.assert_frame_equal(pd.read_csv(a / name / "valid_predictions.csv"),
                                      pd.read_csv(b / name / "valid_predictions.csv"))  # fmt: skip


def test_an_interrupted_comparison_resumes_to_an_uninterrupted_ones_result(
    split_csv, tmp_path, monkeypatch
):
    archs, opts = ["coin", "dice"], {"config": {}, "n_boot": 50}
    C.compare(split_csv, archs, tmp_path / "whole", trainer=Trainer(), **opts)
    cmp = tmp_path / "cmp"
    trainer = Trainer(stop="dice/fold1")  # the second fold of the second candidate
    with pytest.raises(KeyboardInterrupt):
        C.compare(split_csv, archs, cmp, trainer=trainer, **opts)
    assert (cmp / "compare_resume.json").is_file() and not (cmp / "best.json").exists()
    record = json.loads((cmp / "compare_resume.json").read_text())
    assert record["options"]["archs"] == archs and record["options"]["n_boot"] == 50
    # Only the same job goes on; each refusal names the folder and what differs.
    with pytest.raises(OutputExistsError, match="unfinished comparison .*--resume continues it"):
        C.compare(split_csv, archs, cmp, trainer=trainer, **opts)
    with pytest.raises(
        ConfigError, match=rf"{cmp}: --resume with other options .*n_boot \(50 -> 60\)"
    ):
        C.compare(split_csv, archs, cmp, trainer=trainer, config={}, n_boot=60, resume=True)
    with pytest.raises(ConfigError, match=r"archs \(\['coin', 'dice'\] -> \['coin'\]\)"):
        C.compare(split_csv, ["coin"], cmp, trainer=trainer, resume=True, **opts)
    with pytest.raises(ConfigError, match="one of them"):
        C.compare(split_csv, archs, cmp, trainer=trainer, force=True, resume=True, **opts)
    import thermocad

    monkeypatch.setattr(thermocad, "__version__", "9.9")
    with pytest.raises(ConfigError, match="ran thermocad .* this is 9.9"):
        C.compare(split_csv, archs, cmp, trainer=trainer, resume=True, **opts)
    monkeypatch.undo()
    # A file is known by its bytes: an edit of the same size with its time put back is seen; the
    # same bytes saved again are no change.
    image = Path(pd.read_csv(split_csv)["path"].iloc[0])
    st, original = os.stat(image), image.read_bytes()
    before = R.split_fingerprint(split_csv)
    image.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ConfigError, match=f"{cmp}: the split or its files changed"):
        C.compare(split_csv, archs, cmp, trainer=trainer, resume=True, **opts)
    image.write_bytes(original)
    assert R.split_fingerprint(split_csv) == before and os.stat(image).st_mtime_ns != st.st_mtime_ns
    # A record from before 2026-12-07 holds the files' sizes and times: still resumed.
    record = json.loads((cmp / "compare_resume.json").read_text())
    record["data"] = R.split_fingerprint(split_csv, stamps=True)
    (cmp / "compare_resume.json").write_text(json.dumps(record))
    saved = (cmp / "compare_resume.json").read_bytes()
    (cmp / "compare_resume.json").write_text("{broken")
    with pytest.raises(ConfigError, match="no readable compare_resume.json"):
        C.compare(split_csv, archs, cmp, trainer=trainer, resume=True, **opts)
    (cmp / "compare_resume.json").write_bytes(saved)
    assert trainer.calls[-1] == (str(cmp / "dice" / "fold1"), False)  # nothing ran meanwhile
    trainer.calls.clear()
    C.compare(split_csv, archs, cmp, trainer=trainer, resume=True, **opts)
    # coin's folds and dice's first were finished: reused; dice's second goes on from its
    # checkpoint, its third starts.
    assert trainer.calls == [(str(cmp / "dice" / "fold1"), True),
                             (str(cmp / "dice" / "fold2"), False)]  # fmt: skip
    assert not (cmp / "compare_resume.json").exists()
    _same_results(cmp, tmp_path / "whole", ["baseline", *archs])
    # The training time counts every fold, the reused ones as recorded when they were trained.
    table = pd.read_csv(cmp / "comparison.csv").set_index("model")
    for arch in archs:
        times = json.loads((cmp / arch / "train_seconds.json").read_text())
        assert sorted(times) == ["0", "1", "2"]
        assert table.loc[arch, "train_time_s"] == round(sum(times.values()), 1)
    with pytest.raises(ConfigError, match="nothing to resume .*finished comparison"):
        C.compare(split_csv, archs, cmp, trainer=trainer, resume=True, **opts)
    with pytest.raises(ConfigError, match="no such folder .*compare without --resume"):
        C.compare(split_csv, archs, tmp_path / "nope", trainer=trainer, resume=True, **opts)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="nothing to resume .*no record of an interrupted"):
        C.compare(split_csv, archs, other, trainer=trainer, resume=True, **opts)


def test_a_resumed_nested_comparison_reuses_its_folds_and_opens_the_test_set_once(
    split_csv, tmp_path
):
    from thermocad.evaluation.lockbox import ledger_path, read_ledger

    opts = {"config": {}, "n_boot": 20, "nested": True, "inner_folds": 2}
    C.compare(split_csv, ["coin"], tmp_path / "whole", trainer=Trainer(), **opts)
    ledger = ledger_path(split_csv)
    assert len(read_ledger(ledger)) == 1
    cmp = tmp_path / "cmp"
    trainer = Trainer(stop="outer1/inner/coin/fold1")  # after the test set was scored
    with pytest.raises(KeyboardInterrupt):
        C.compare(split_csv, ["coin"], cmp, trainer=trainer, **opts)
    assert (cmp / "test" / "metrics.json").is_file()
    done = {run for run, _ in trainer.calls[:-1]}
    trainer.calls.clear()
    C.compare(split_csv, ["coin"], cmp, trainer=trainer, resume=True, **opts)
    assert not done & {run for run, _ in trainer.calls}  # no finished fold run trained again
    assert trainer.calls[0] == (str(cmp / "nested" / "outer1" / "inner" / "coin" / "fold1"), True)
    _same_results(cmp, tmp_path / "whole", ["baseline", "coin"])
    for name in ("nested.json", "nested_predictions.csv"):
        assert (cmp / "nested" / name).read_text() == (
            tmp_path / "whole" / "nested" / name
        ).read_text()
    # The chosen model was scored on the test women three times (whole, interrupted, resumed):
    # the same model each time, so one opening.
    lockbox = json.loads((cmp / "test" / "metrics.json").read_text())["lockbox"]
    assert lockbox["models"] == 1 and lockbox["opening"] == 1 and not lockbox["new"]
    assert len(read_ledger(ledger)) == 3


def test_a_comparison_killed_inside_a_real_training_resumes_to_the_same_predictions(
    split_csv, tmp_path, monkeypatch
):
    import thermocad.training.run as R
    from thermocad.training.config import TrainConfig

    config = TrainConfig.smoke(pretrained=False, cycles=0, frozen_cycles=0, tta=0, head_epochs=3)
    opts = {"config": config, "n_boot": 20, "baseline": False}
    C.compare(split_csv, ["efficientnet_lite0"], tmp_path / "whole", **opts)
    real_history = R.write_history

    def history(out_dir, rows):  # fold 1 is killed inside its head stage, after its first epoch
        real_history(out_dir, rows)
        if Path(out_dir).name == "fold1" and [r["stage"] for r in rows] == ["head (precomputed)"]:
            raise KeyboardInterrupt

    monkeypatch.setattr(R, "write_history", history)
    cmp = tmp_path / "cmp"
    with pytest.raises(KeyboardInterrupt):
        C.compare(split_csv, ["efficientnet_lite0"], cmp, **opts)
    monkeypatch.setattr(R, "write_history", real_history)
    fold1 = cmp / "efficientnet_lite0" / "fold1"
    assert (fold1 / "checkpoint" / "state.json").is_file()
    fold0 = (cmp / "efficientnet_lite0" / "fold0" / "model.json").stat().st_mtime_ns
    C.compare(split_csv, ["efficientnet_lite0"], cmp, resume=True, **opts)
    # fold 0, of these women and options, was reused (not trained again)
    assert (cmp / "efficientnet_lite0" / "fold0" / "model.json").stat().st_mtime_ns == fold0
    assert not (fold1 / "checkpoint").exists() and not (fold1 / "INCOMPLETE").exists()
    _same_results(cmp, tmp_path / "whole", ["efficientnet_lite0"])


def test_a_fold_resumed_inside_a_stage_is_said_in_best_json_and_the_report(tmp_path, capsys):
    import json

    from thermocad.evaluation.resume import resumed_inside
    from thermocad.reporting.report import write_report

    run = tmp_path / "compare" / "efficientnet_lite0" / "fold1"
    run.mkdir(parents=True)
    (run / "model.json").write_text(
        json.dumps({"resumed_inside": [{"stage": "unfrozen", "epoch": 0}]})
    )
    other = tmp_path / "compare" / "efficientnet_lite0" / "fold0"
    other.mkdir()
    (other / "model.json").write_text("{}")
    found = resumed_inside({"efficientnet_lite0": {"runs": [other, run]}, "baseline": {}})
    assert found == ["efficientnet_lite0/fold1"]
    assert "resumed inside a training stage" in capsys.readouterr().err
    (tmp_path / "compare" / "best.json").write_text(
        json.dumps({"best": "baseline", "resumed_inside": found})
    )
    html = write_report(tmp_path / "r.html", compare_dir=tmp_path / "compare").read_text()
    assert "Resumed: efficientnet_lite0/fold1 continued from a checkpoint" in html


def test_a_nested_run_resumed_inside_a_stage_is_said_in_nested_and_best_json(split_csv, tmp_path):
    opts = {"config": {}, "n_boot": 20, "nested": True, "inner_folds": 2}
    cmp = tmp_path / "cmp"
    trainer = Trainer(stop="outer1/inner/coin/fold1", inside=True)
    with pytest.raises(KeyboardInterrupt):
        C.compare(split_csv, ["coin"], cmp, trainer=trainer, **opts)
    C.compare(split_csv, ["coin"], cmp, trainer=trainer, resume=True, **opts)
    nested = json.loads((cmp / "nested" / "nested.json").read_text())
    assert nested["resumed_inside"] == ["outer1/inner/coin/fold1"]
    assert (
        "Resumed inside a training stage: outer1/inner/coin/fold1"
        in (cmp / "nested" / "nested.md").read_text()
    )
    best = json.loads((cmp / "best.json").read_text())
    assert best["resumed_inside"] == ["nested/outer1/inner/coin/fold1"]


def test_compare_refuses_a_folder_another_command_made(tmp_path):
    from thermocad.evaluation.resume import open_job, record
    from thermocad.utils.errors import ConfigError

    study = tmp_path / "study"
    study.mkdir()
    (study / ".thermocad").write_text("written by thermocad study\n")
    (study / "report.html").write_text("<html>")
    for resume in (False, True):  # --force wrote a comparison beside the study's report
        with pytest.raises(ConfigError, match=r"written by thermocad study"):
            open_job(study, record({}, "x"), "compare", force=not resume, resume=resume)


def test_a_forced_comparison_replaces_an_earlier_ones_other_candidates(split_csv, tmp_path):
    """compare --force with fewer candidates: the earlier comparison's other candidates go
    (their models are no part of this one); a folder that holds no candidate's files stays."""
    cmp, opts = tmp_path / "cmp", {"config": {}, "n_boot": 20}
    C.compare(split_csv, ["coin", "dice"], cmp, trainer=Trainer(), **opts)
    assert (cmp / "dice" / "fold0").is_dir()
    (cmp / "notes").mkdir()
    (cmp / "notes" / "mine.txt").write_text("kept")
    C.compare(split_csv, ["coin"], cmp, trainer=Trainer(), force=True, **opts)
    assert not (cmp / "dice").exists() and (cmp / "coin" / "fold0").is_dir()
    assert (cmp / "notes" / "mine.txt").read_text() == "kept"


def test_a_forced_comparison_resumed_never_reuses_the_earlier_ones_fold_runs(
    split_csv, tmp_path, capsys
):
    """compare --force over a finished comparison on other folds, killed, then --resume: the
    earlier comparison's fold runs (trained on this one's validation women) are not taken."""
    other = tmp_path / "other_split.csv"
    df = pd.read_csv(split_csv)
    dev = df["split"] != "test"
    df.loc[dev, "fold"] = (df.loc[dev, "patient_id"] // 2 + 1) % 3  # the same women, re-folded
    df.to_csv(other, index=False)
    cmp, opts = tmp_path / "cmp", {"config": {}, "n_boot": 20}
    C.compare(other, ["coin"], cmp, trainer=Trainer(), **opts)
    trainer = Trainer(stop="coin/fold0")
    with pytest.raises(KeyboardInterrupt):
        C.compare(split_csv, ["coin"], cmp, trainer=trainer, force=True, **opts)
    assert not (cmp / "coin" / "fold1").exists()  # the earlier comparison's runs went
    trainer.calls.clear()
    C.compare(split_csv, ["coin"], cmp, trainer=trainer, resume=True, **opts)
    assert trainer.calls == [(str(cmp / "coin" / f"fold{k}"), k == 0) for k in range(3)]
    # A finished fold run of other women found by a resume (left by an earlier version) is
    # trained again, and said.
    trainer = Trainer(stop="coin/fold2")
    with pytest.raises(KeyboardInterrupt):
        C.compare(split_csv, ["coin"], cmp, trainer=trainer, force=True, **opts)
    roles = pd.read_csv(cmp / "coin" / "fold0" / "trained_on.csv")
    roles["role"] = roles["role"][::-1].to_numpy()
    roles.to_csv(cmp / "coin" / "fold0" / "trained_on.csv", index=False)
    trainer.calls.clear()
    capsys.readouterr()
    C.compare(split_csv, ["coin"], cmp, trainer=trainer, resume=True, **opts)
    assert trainer.calls == [(str(cmp / "coin" / "fold0"), False),
                             (str(cmp / "coin" / "fold2"), True)]  # fmt: skip
    assert (
        "fold 0: the finished run there is not this fold's (it trained or validated on "
        "other women)" in capsys.readouterr().err
    )


def test_a_fold_run_saved_before_an_option_was_removed_is_reused(tmp_path):
    """Its model.json's config holds precompute: true, today's behaviour: the same run."""
    from thermocad.evaluation.runs import _not_this_folds
    from thermocad.training.config import TrainConfig

    fold = pd.DataFrame({"patient_id": [1, 2, 3], "split": ["train", "train", "valid"]})
    pd.DataFrame({"patient_id": [1, 2, 3], "role": ["train", "train", "valid"]}).to_csv(
        tmp_path / "trained_on.csv", index=False
    )
    config = TrainConfig()
    saved = {**config.to_dict(), "precompute": True}
    (tmp_path / "model.json").write_text(json.dumps({"config": saved}))
    assert _not_this_folds(tmp_path, fold, config, config.arch, None) is None
    (tmp_path / "model.json").write_text(json.dumps({"config": {**saved, "head_epochs": 3}}))
    assert (
        _not_this_folds(tmp_path, fold, config, config.arch, None)
        == "it was trained with other options"
    )
