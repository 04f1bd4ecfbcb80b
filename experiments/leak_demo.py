"""Why splits must be by patient: the study's image-level protocol versus a patient-level one.

A synthetic cohort where every patient has a dynamic series of near-identical frames (as in
DMR-IR) is split twice with the same fractions and seed: by image (the 2019 study's protocol:
siblings of a test image sit in training) and by patient. The same models are trained on each
and scored on their test split. Results and the command go in docs/results.md.

    .venv/bin/python experiments/leak_demo.py --out /tmp/leak_demo
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from harness import youden_threshold
from thermocad.cohort.prepare import prepare_cohort
from thermocad.cohort.split import make_split, write_split
from thermocad.evaluation.evaluate import evaluate_predictions, predict_split, with_y
from thermocad.models.baseline import cross_validate_baseline
from thermocad.synth.cohort import generate_cohort
from thermocad.utils.tables import markdown_table


def cnn_test_predictions(split_csv: Path, run_dir: Path, size: int, seed: int) -> pd.DataFrame:
    """The study's recipe, short: frozen ImageNet body, head on precomputed features."""
    from thermocad.models.bundle import load_bundle
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import train

    # The CNN alone (the baseline is the table's other model), otherwise the default's inputs.
    config = TrainConfig(size=size, seed=seed, head_epochs=8, frozen_cycles=0, cycles=0,
                         lr_find_iters=30, tta=0, ensemble="none")  # fmt: skip
    train(split_csv, run_dir, config, force=True)
    split_df = pd.read_csv(split_csv)
    return predict_split(load_bundle(run_dir), split_df[split_df["split"] == "test"])


def score(pred: pd.DataFrame, valid: pd.DataFrame) -> dict:
    """Image-level accuracy and AUC on test at the threshold chosen on validation."""
    valid = with_y(valid)
    threshold = youden_threshold(valid["y"].to_numpy(), valid["prob"].to_numpy())
    result = evaluate_predictions(with_y(pred), threshold, subgroup=None, n_boot=200)
    image = result["image"]
    return {k: image[k] for k in ("accuracy", "roc_auc", "sensitivity", "specificity")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = args.out
    labels = generate_cohort(out / "data", n_patients=args.patients, seed=args.seed,
                             frames=args.frames, height=120, width=160, difficulty="hard",
                             force=True)  # fmt: skip
    prepare_cohort(out / "data", labels, out / "cohort", force=True)
    rows = []
    for unit in ("image", "patient"):
        df = make_split(
            out / "cohort" / "cohort.csv", valid=0.2, test=0.2, seed=args.seed, unit=unit
        )
        split_csv = write_split(df, out / f"split_{unit}.csv", force=True)
        shared = df.groupby("patient_id")["split"].nunique().gt(1).sum()
        base = cross_validate_baseline(df)
        rows.append({"split unit": unit, "model": "baseline (logistic regression)",
                     "patients on both sides": int(shared), **score(base["test"], base["valid"])})  # fmt: skip
        valid_csv = out / f"run_{unit}" / "valid_predictions.csv"
        test_pred = cnn_test_predictions(split_csv, out / f"run_{unit}", args.size, args.seed)
        valid_pred = df[df["split"] == "valid"].merge(pd.read_csv(valid_csv)[["path", "prob"]])
        rows.append({"split unit": unit, "model": "efficientnet_lite0 (frozen, head)",
                     "patients on both sides": int(shared), **score(test_pred, valid_pred)})  # fmt: skip
    table = pd.DataFrame(rows)
    print(markdown_table(table.columns, table.itertuples(index=False)))
    (out / "leak_demo.json").write_text(json.dumps(rows, indent=2, default=float))


if __name__ == "__main__":
    main()
