"""Grad-CAM on cross-validated predictions: each patient explained by the fold model that never saw her.

Picks from a `compare` directory's out-of-fold predictions: the most confident true positive in
batch A, the most confident false positive (a Healthy woman called Sick), the most confident
false negative, and one batch-B patient; writes one figure each with `thermocad.inference.explain`.

    .venv/bin/python experiments/gradcam_examples.py /tmp/real_cv/chest_asym_320/seed0 --out docs/img --prefix default
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from thermocad.inference.explain import explain_file
from thermocad.utils.files import atomic_path


def pick_cases(pred: pd.DataFrame) -> dict[str, pd.Series]:
    """One row per kind of case, by out-of-fold probability."""
    a, b = pred[pred["acquisition_batch"] == "A"], pred[pred["acquisition_batch"] == "B"]
    return {
        "true_positive_A": a[a["y"] == 1].nlargest(1, "prob").iloc[0],
        "false_positive": pred[pred["y"] == 0].nlargest(1, "prob").iloc[0],
        "false_negative": pred[pred["y"] == 1].nsmallest(1, "prob").iloc[0],
        "batch_B": b.nlargest(1, "prob").iloc[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("compare_dir", type=Path, help="a compare output with per-fold runs")
    parser.add_argument("--arch", default="efficientnet_lite0")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--prefix", default="gradcam")
    args = parser.parse_args()
    model_dir = args.compare_dir / args.arch
    pred = pd.read_csv(model_dir / "valid_predictions.csv")
    for kind, row in pick_cases(pred).items():
        run = model_dir / f"fold{int(row['fold'])}"
        png = explain_file(run, row["path"], args.out / "tmp", force=True)
        target = args.out / f"{args.prefix}_{kind}.png"
        with atomic_path(target) as tmp:
            tmp.write_bytes(png.read_bytes())
        png.unlink()
        print(f"{target}: patient {row['patient_id']} ({row['label']}, batch "
              f"{row['acquisition_batch']}), out-of-fold P(Sick) {row['prob']:.3f}")  # fmt: skip
    (args.out / "tmp").rmdir()


if __name__ == "__main__":
    main()
