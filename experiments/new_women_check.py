"""The pre-registered check for the next new women (records/next_steps.md, 2026-12-03).

Trains two models on the development women and scores the new women once with each:
  default        the product: `thermocad fit` (the frozen lite0 head on the asymmetry map,
                 averaged with the classical baseline; threshold for sensitivity 0.90 on the
                 pooled out-of-fold predictions), scored by `evaluate_external`
  default_theta  both halves on theta = (T - T_room) / (37 - T_room), as in
                 dimensionless_temperature.py, by the same procedure: fit's folds, the default
                 head (`fit_head`) and the baseline per fold, the threshold for sensitivity 0.90
                 on the pooled out-of-fold predictions, both halves refitted on every woman
then applies the rule written before any new woman was seen:

    default_theta replaces the default if its period-matched AUC on the new women is at least
    the default's + 0.03 and its specificity at its stored threshold is at least the
    default's. Batch A and overall are reported, not used (the room inflates both).
    Otherwise nothing changes.

Both scorings are openings in the lockbox ledger beside the new labels; after this run the new
women count as seen, and the next decision needs others.

    .venv/bin/python experiments/new_women_check.py --dev DEV_DIR --dev-labels DEV.csv \
        --new NEW_DIR --new-labels NEW.csv --out OUT

The new women are checked before anything trains: a labelled woman without a readable file
stops it in one line (fix the files, or give --allow-unscored to score the others, each one
left out listed), as do women of one class only. Run again into the same OUT with --force: a
development fit that finished is kept (the same model), an interrupted one resumed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from dimensionless_temperature import cnn_theta_features, theta_reader
from harness import paired_auc_difference
from nested_default import baseline, head_sgd
from thermocad.cohort.prepare import kept_rows
from thermocad.evaluation.evaluate import (
    with_y,
)
from thermocad.evaluation.external import evaluate_external, external_table, score_predictions
from thermocad.evaluation.lockbox import ledger_path, record_opening
from thermocad.fit import choose_from_oof, fit
from thermocad.models.baseline import feature_table
from thermocad.utils.errors import ConfigError, ThermocadError
from thermocad.utils.files import INCOMPLETE, atomic_write_json, atomic_write_text

MARGIN = 0.03  # period-matched AUC the candidate must gain


def theta_model(dev: pd.DataFrame, new: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, float]:
    """default_theta by fit's procedure: out-of-fold over `dev`'s folds -> threshold -> refit
    on every development woman -> P(Sick) of the new women (with each half's)."""
    df = pd.concat([dev, new], ignore_index=True)
    paths = df["path"].tolist()
    feats = cnn_theta_features(paths)
    bfeats = feature_table(paths, reader=theta_reader)
    n_dev = len(dev)
    oof = {"cnn": np.zeros(n_dev), "baseline": np.zeros(n_dev)}
    for k in sorted(dev["fold"].unique()):
        te = np.flatnonzero(dev["fold"].to_numpy() == k)
        tr = np.flatnonzero(dev["fold"].to_numpy() != k)
        oof["cnn"][te] = head_sgd(feats, df, tr, te, seed)
        oof["baseline"][te] = baseline(bfeats, df, tr, te, seed)
    oof_pred = dev.assign(prob=(oof["cnn"] + oof["baseline"]) / 2)
    threshold = choose_from_oof(oof_pred)["threshold"]
    tr, te = np.arange(n_dev), np.arange(n_dev, len(df))
    cnn, base = head_sgd(feats, df, tr, te, seed), baseline(bfeats, df, tr, te, seed)
    pred = new.assign(prob=(cnn + base) / 2, prob_cnn=cnn, prob_baseline=base)
    return pred, threshold


def endpoints(result: dict) -> tuple[float | None, float]:
    """The rule's two endpoints: period-matched AUC and specificity at the stored threshold."""
    served = result["served"]
    return (served["by_period"]["subsets"]["period-matched"]["roc_auc"],
            served["patient"]["specificity"])  # fmt: skip


def paired_period_difference(default: pd.DataFrame, theta: pd.DataFrame, n_boot: int = 2000):
    """Period-matched AUC of theta minus the default's on the same women, with a paired
    patient-bootstrap 95% interval (reported beside the rule's verdict, not used by it;
    records/new_women_power.md: over 40 women its SD is about 0.03). None without the subset."""
    from thermocad.evaluation.metrics import aggregate_patients
    from thermocad.evaluation.periods import period_matched

    first = default.groupby("patient_id")[["acquisition_batch", "acquisition_date"]].first()
    pat = aggregate_patients(default).join(first, on="patient_id")
    pat["prob_theta"] = pat["patient_id"].map(
        aggregate_patients(theta).set_index("patient_id")["prob"]
    )
    pat = pat[period_matched(pat).to_numpy()]
    y, a, b = pat["y"].to_numpy(int), pat["prob_theta"].to_numpy(), pat["prob"].to_numpy()
    if len(np.unique(y)) < 2:
        return None
    return (*paired_auc_difference(y, a, b, n_boot, np.random.default_rng(0)), int(len(y)))


def verdict(default: dict, theta: dict) -> str:
    """The pre-registered rule, applied."""
    (pm_d, spec_d), (pm_t, spec_t) = endpoints(default), endpoints(theta)
    if pm_d is None or pm_t is None:
        return ("the new women hold no period-matched subset (both classes imaged in the same "
                "dates of one batch), so the rule cannot decide: nothing changes")  # fmt: skip
    gain, keeps = pm_t - pm_d, spec_t >= spec_d
    if gain >= MARGIN and keeps:
        return (f"default_theta replaces the default: period-matched AUC {pm_t:.3f} against "
                f"{pm_d:.3f} (+{gain:.3f} >= {MARGIN}), specificity {spec_t:.3f} against "
                f"{spec_d:.3f}")  # fmt: skip
    return (f"nothing changes: period-matched AUC {pm_t:.3f} against {pm_d:.3f} ({gain:+.3f}, "
            f"needs +{MARGIN}), specificity {spec_t:.3f} against {spec_d:.3f}"
            + ("" if keeps else " (lower)"))  # fmt: skip


def check_new_women(new: Path, labels: Path, out: Path, allow_unscored: bool) -> None:
    """Before anything trains, as evaluate --data will check them: every labelled woman has a
    file it can score (unless `allow_unscored`), and both classes are there. The new cohort
    is written to OUT/new_women/cohort/cohort.csv, which gives each file's reason."""
    from thermocad.cohort.prepare import prepare_cohort
    from thermocad.evaluation.coverage import check_classes, check_faults, women_scored
    from thermocad.io.labels import read_labels

    summary = prepare_cohort(new, labels, out / "new_women" / "cohort", force=True)
    women = women_scored(read_labels(labels), pd.read_csv(summary.cohort_csv), new)
    check_faults(women, labels, out / "new_women", allow_unscored)
    check_classes(women, labels)


def main() -> None:
    try:
        run_check(parse_args())
    except ThermocadError as exc:  # the library's one-line errors, as the CLI says them
        sys.exit(f"new_women_check: error: {exc}")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dev", type=Path, required=True, help="development women's folder")
    ap.add_argument("--dev-labels", type=Path, required=True)
    ap.add_argument("--new", type=Path, required=True, help="new women's folder")
    ap.add_argument("--new-labels", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--ledger", type=Path, help="the new women's ledger of openings (default: "
                    "beside --new-labels; give one when that folder is read-only)")  # fmt: skip
    ap.add_argument("--allow-unscored", action="store_true", help="score the other women when "
                    "some labelled ones have no readable file (each listed in the outputs)")  # fmt: skip
    ap.add_argument("--numbered-apart", action="store_true", help="the new women's numbers are "
                    "another series: a number shared with a training woman is another woman")  # fmt: skip
    ap.add_argument("--force", action="store_true", help="run again into an existing OUT (a "
                    "finished development fit is kept, an interrupted one resumed)")  # fmt: skip
    return ap.parse_args()


def run_check(args: argparse.Namespace) -> None:
    """The check, as the module's docstring says."""
    if not args.force and any((args.out / d).exists() for d in ("default", "default_external")):
        raise ConfigError(f"{args.out} already holds a check: --force runs it again there (a "
                          "finished development fit is kept), or give another --out")  # fmt: skip
    book = ledger_path(args.new_labels, args.ledger)  # writable, before anything trains
    check_new_women(args.new, args.new_labels, args.out, args.allow_unscored)
    run = args.out / "default"
    if (run / "model.json").is_file() and not (run / INCOMPLETE).exists():
        print(f"new_women_check: {run}: the development fit finished before, kept", flush=True)
    else:  # a new fit, or an interrupted one resumed
        fit(args.dev, args.dev_labels, run, seed=args.seed, n_boot=args.n_boot,
            resume=run.is_dir())  # fmt: skip
    default = evaluate_external(run, args.new, args.new_labels, args.out / "default_external",
                                n_boot=args.n_boot, ledger=book, force=args.force,
                                numbered_apart=args.numbered_apart,
                                allow_unscored=args.allow_unscored)  # fmt: skip
    dev = with_y(pd.read_csv(run / "split.csv"))
    new = with_y(kept_rows(pd.read_csv(args.out / "default_external" / "cohort" / "cohort.csv")))
    pred, threshold = theta_model(dev.reset_index(drop=True), new.reset_index(drop=True), args.seed)
    theta = score_predictions(pred, threshold, "default_theta", args.n_boot)
    theta["lockbox"] = record_opening(book, pred, "default_theta (new_women_check.py)",
                                      theta["served"]["patient"]["roc_auc"])  # fmt: skip
    pred.to_csv(args.out / "default_theta_predictions.csv", index=False)
    decision = verdict(default, theta)
    diff = paired_period_difference(
        with_y(pd.read_csv(args.out / "default_external" / "predictions.csv")), pred
    )
    spread = ("no period-matched subset" if diff is None else
              f"period-matched AUC difference {diff[0]:+.3f} (paired 95% interval {diff[1]:+.3f} "
              f"to {diff[2]:+.3f}, {diff[3]} women)")  # fmt: skip
    text = "\n\n".join([external_table(default), external_table(theta),
                         f"Decision: {decision}. Beside it, not used: {spread}."])  # fmt: skip
    print(text)
    atomic_write_text(args.out / "check.md", text + "\n")
    atomic_write_json(args.out / "check.json", {
        "default": {k: default[k] for k in ("model", "threshold", "served", "halves")},
        "default_theta": {k: theta[k] for k in ("model", "threshold", "served", "halves")},
        "decision": decision, "period_difference": diff, "lockbox": theta["lockbox"]})  # fmt: skip


if __name__ == "__main__":
    main()
