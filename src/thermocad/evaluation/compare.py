"""Compare architectures (and the classical baseline) on the same patient-grouped folds.

Each architecture is trained per fold (out-of-fold predictions -> cross-validated metrics) or
on train/valid; the best is picked on validation data only and evaluated once on test.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from thermocad.cohort.split import read_split
from thermocad.evaluation import periods as P
from thermocad.evaluation import thresholds as T
from thermocad.evaluation.comparison_table import (
    TABLE_COLUMNS,
    comparison_markdown,
    display_name,
    table_row,
)
from thermocad.evaluation.evaluate import evaluate_predictions, write_plots
from thermocad.evaluation.runs import (
    BASELINE,
    AllModelsFailedError,
    check_names,
    check_split_files,
    fold_splits,
    real_trainer,
    run_arch,
    run_baseline,
)
from thermocad.io.labels import with_y
from thermocad.utils.files import atomic_write_csv, atomic_write_json, atomic_write_text, no_room
from thermocad.utils.lock import writes_folder
from thermocad.utils.progress import log
from thermocad.utils.random_state import keeps_random_state
from thermocad.utils.tables import tidy
from thermocad.utils.trees import remove_tree

# Where a test evaluation's threshold comes from: the comparison's own, chosen on every fold's
# validation women by the study's threshold rule (the table's threshold column).
POOLED = "pooled out-of-fold validation"


def pick_best(table: pd.DataFrame) -> str:
    """Best model on validation data: patient-level AUC, then image-level AUC.

    The sort is stable and the baseline comes first, so a tie goes to the cheaper model.
    """
    ok = table[table["status"] == "ok"]
    if ok.empty:
        raise AllModelsFailedError("every model failed; see comparison.csv")
    order = ok.sort_values(["patient_roc_auc", "roc_auc"], ascending=False, na_position="last")
    return str(order.iloc[0]["model"])


def _evaluate_model(name: str, res: dict, out: Path, subgroup: str | None, n_boot: int,
                    target: float | None) -> None:  # fmt: skip
    """Choose the threshold on the pooled validation predictions and write their evaluation."""
    pred, res["threshold"] = res["pred"], T.choose_patient_threshold(res["pred"], target)
    res["eval"] = evaluate_predictions(pred, res["threshold"], subgroup, n_boot=n_boot)
    atomic_write_csv(out / name / "valid_predictions.csv", pred)
    plots = write_plots(pred, res["threshold"], out / name, galleries=False, on="validation")
    res["eval"]["plots"] = plots
    atomic_write_json(out / name / "valid_metrics.json", res["eval"])


def _final_test(best: str, res: dict, split_csv: Path, out: Path, subgroup: str | None,
                n_boot: int, force: bool) -> dict:  # fmt: skip
    """Evaluate the chosen model once on the test split, at its validation threshold."""
    test_dir = out / "test"
    if best == BASELINE:
        pred = with_y(res["test_pred"])
        result = evaluate_predictions(pred, res["threshold"], subgroup, n_boot=n_boot)
        result.update(arch=BASELINE, on="test", threshold_source=POOLED)
        from thermocad.evaluation.lockbox import ledger_path, record_opening

        source = f"{out / BASELINE} (compare)"
        result["lockbox"] = record_opening(
            ledger_path(split_csv), pred, source, result["patient"].get("roc_auc"), res["threshold"]
        )
        result["plots"] = write_plots(pred, res["threshold"], test_dir, on="test")
        atomic_write_csv(test_dir / "predictions.csv", pred)
        atomic_write_json(test_dir / "metrics.json", result)
        return result
    from thermocad.evaluation.evaluate import evaluate_run

    # The fold-0 model is the one trained on split.csv as written (fold 0 = valid); its
    # threshold, as the baseline's, is the table's: chosen by the study's rule on every fold.
    return evaluate_run(res["runs"][0], split_csv, on="test", out_dir=test_dir, subgroup=subgroup,
                        force=force, n_boot=n_boot, apart=False,  # its own layout
                        threshold=(res["threshold"], POOLED))  # fmt: skip


def _write_table(rows: list[dict], out: Path) -> pd.DataFrame:
    """Write comparison.csv and .md; raise (naming the table) when no model succeeded."""
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    atomic_write_csv(out / "comparison.csv", table)
    atomic_write_text(out / "comparison.md", comparison_markdown(table))
    if (table["status"] != "ok").all():
        raise AllModelsFailedError(f"{out / 'comparison.csv'}: every model failed; see its "
                                   "status column and */error.txt")  # fmt: skip
    return table


def _candidates(out: Path, archs) -> list[Path]:
    """The folders of this comparison's candidates and of an earlier one's in `out` (a folder
    holding a candidate's files: its fold runs, validation predictions, error), which a new
    comparison replaces."""
    written = ("valid_predictions.csv", "error.txt", "train_seconds.json")
    return [out / name for name in archs] + [
        d for d in sorted(out.iterdir()) if d.is_dir() and d.name not in archs
        and (any(re.fullmatch(r"fold\d+", f.name) for f in d.iterdir())
             or any((d / f).exists() for f in written))
    ]  # fmt: skip


@keeps_random_state
# size: compare is the comparison's steps in one visible sequence; each step is a function.
@writes_folder("out_dir")
def compare(
    split_csv: str | os.PathLike,
    archs: Sequence[str],
    out_dir: str | os.PathLike,
    config: Any = None,
    baseline: bool = True,
    force: bool = False,
    n_boot: int = 1000,
    subgroup: str | None = "acquisition_batch",
    target_sensitivity: float | None = T.TARGET_SENSITIVITY,
    trainer: Callable | None = None,
    overrides: dict[str, dict] | None = None,
    nested: bool = False,
    inner_folds: int | None = None,
    seed: int = 0,
    resume: bool = False,
) -> dict:
    """Train and validate every architecture (+ baseline), pick the best, test it once.

    `nested`: also run nested cross-validation (thermocad.evaluation.nested) into OUT/nested:
    its outer estimate is the result; the comparison above it is model selection, optimistic.
    `seed`: its inner folds' (the study's split seed). `resume`: continue the interrupted
    comparison in `out_dir` (the same split and options, evaluation/resume.py): finished fold
    runs are reused, an interrupted one continues from its checkpoint, the rest is recomputed.
    """
    from thermocad.evaluation import resume as R
    from thermocad.utils.progress import progress

    # Check the split and the names before creating anything: a typo must not cost a baseline run.
    check_names(archs)  # each a folder of `out`: never a path, nor one of compare's own
    split_csv, split_df = Path(split_csv), read_split(split_csv)
    if P.PERIOD not in split_df.columns and P.dates_available(split_df):
        log(f"{split_csv} has no {P.PERIOD} column (made before it existed): each table takes "
            "the date range of its own women; make the split again to mark them once")  # fmt: skip
    target_sensitivity = T.check_target(target_sensitivity)
    check_split_files(split_df, split_csv, subgroup)
    if nested:
        from thermocad.evaluation.nested import check_nested

        check_nested(split_df, archs, baseline, inner_folds)
    rec = R.record(R.compare_options(archs, config, baseline=baseline, n_boot=n_boot,
                   subgroup=subgroup, overrides=overrides, target_sensitivity=target_sensitivity,
                   nested=nested, inner_folds=inner_folds, seed=seed),
                   R.split_fingerprint(split_csv))  # fmt: skip
    own_trainer = trainer is None  # thermocad's train(): nested may take the head-only fast path
    skipped = {}
    if archs and trainer is None:
        trainer, config, skipped = real_trainer(archs, config, overrides)
        archs = [a for a in archs if a not in skipped]
    if (split_df["split"] == "test").any():  # the final test's opening is counted, or no run
        from thermocad.evaluation.lockbox import ledger_path

        ledger_path(split_csv, remedy="keep the split in a writable folder (its ledger of test "
                    "openings sits beside it)")  # fmt: skip
    out, _ = R.open_job(out_dir, rec, "compare", force, resume,
                        legacy=lambda: R.split_fingerprint(split_csv, stamps=True))  # fmt: skip
    for name in ("best.json", "comparison.csv", "comparison.md"):  # an earlier comparison's
        (out / name).unlink(missing_ok=True)  # summary: written again when this one finishes
    for name in ("test", "nested")[: 1 if resume else 2]:  # and its results (a resumed one
        remove_tree(out / name)  # keeps nested's finished fold runs)
    if not resume:  # an earlier comparison's candidates go: their fold runs (other options,
        for folder in _candidates(out, archs):  # another split) would be taken by a later
            remove_tree(folder)  # --resume of this one for its own
    n_folds = len(fold_splits(split_df))
    results, rows = {}, []
    for name in progress(([BASELINE] if baseline else []) + list(archs), "comparing models"):
        try:
            res = run_baseline(split_df) if name == BASELINE else run_arch(
                name, split_df, out, config, trainer, (overrides or {}).get(name), resume)  # fmt: skip
            _evaluate_model(name, res, out, subgroup, n_boot, target_sensitivity)
            results[name] = res
            rows.append(table_row(name, res, n_folds))
            log(f"{name}: validation AUC {res['eval']['image']['roc_auc']:.3f}")
        except Exception as exc:  # noqa: BLE001 - one failing (OOM, no weights) must not stop the rest
            if no_room(exc):  # the disk's, not the model's: the others and the test would fail
                raise  # too (a resource review: a full disk had dropped the CNN from a study)
            message = f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:300]
            atomic_write_text(out / name / "error.txt", traceback.format_exc())
            log(f"{name}: {message} (traceback: {out / name / 'error.txt'})")
            rows.append({"model": name, "status": message})
    rows += [{"model": name, "status": why} for name, why in skipped.items()]
    table = _write_table(rows, out)
    best = pick_best(table)
    served = display_name(table[table["model"] == best].iloc[0])  # ARCH+baseline, as served
    summary = {"best": best, "best_served": served,
               "selected_on": "validation patient-level AUC", "n_folds": n_folds,
               "target_sensitivity": target_sensitivity,  # the threshold rule's
               "models": table["model"].tolist(), "test": None}  # fmt: skip
    if resumed := R.resumed_inside(results):  # not what an uninterrupted comparison gives
        summary["resumed_inside"] = resumed
    if (split_df["split"] == "test").any():
        test = _final_test(best, results[best], split_csv, out, subgroup, n_boot, force)
        summary["test"] = {k: test[k] for k in ("threshold", "image", "patient") if k in test}
        if "threshold" in test:  # without float noise, as the table writes it
            summary["test"]["threshold"] = tidy(test["threshold"])
    if nested:
        from thermocad.evaluation.nested import nested_cv

        log("nested cross-validation: the outer folds estimate the whole procedure")
        res = nested_cv(split_df, archs, out / "nested", config, trainer, baseline, inner_folds,
                        seed, target_sensitivity, n_boot, overrides,
                        fast_heads=own_trainer, resume=resume)  # fmt: skip
        summary["nested"] = {k: res[k] for k in ("selection_rule", "folds", "metrics")}
        if found := res.get("resumed_inside"):
            summary["resumed_inside"] = [*summary.get("resumed_inside", []),
                                         *(f"nested/{r}" for r in found)]  # fmt: skip
    atomic_write_json(out / "best.json", summary)
    R.finish(out, "compare")
    return {**summary, "table": table, "out_dir": out}
