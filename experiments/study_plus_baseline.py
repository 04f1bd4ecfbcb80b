"""The 2019 recipe's CNN averaged with the classical baseline, on the nested outer folds.

Protocol and decision rule: records/study_plus_baseline.md (written before the run). Reads the
outer-fold predictions that `nested_default.py` (baseline, default) and `finetune_outer.py`
(the 2019 recipe) wrote for split seed 0, and scores their mean on the same women.

    .venv/bin/python experiments/study_plus_baseline.py --nested /tmp/nested
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from nested_default import score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nested", type=Path, required=True, help="nested_default.py's --out")
    args = parser.parse_args()
    base = pd.read_csv(args.nested / "nested_seed0.csv")
    study = pd.read_csv(args.nested / "outer_study_seed0.csv")
    keep = ["patient_id", "y", "acquisition_batch", "acquisition_date"]
    by = {name: g.set_index("patient_id") for name, g in base.groupby("candidate")}
    s = study.set_index("patient_id")["prob"]
    mean = by["baseline"].assign(prob=(by["baseline"]["prob"] + s.loc[by["baseline"].index]) / 2)
    preds = {
        "baseline": by["baseline"],
        "default": by["default"],
        "study": by["baseline"].assign(prob=s.loc[by["baseline"].index]),
        "study_baseline": mean,
    }
    rows = {}
    for name, p in preds.items():
        sc = score(p.reset_index()[keep + ["prob", "threshold"]])
        rows[name] = {k: f"{v[0]:.3f} ({v[1]:.3f}-{v[2]:.3f})" for k, v in sc.items()
                      if k in ("all", "batch_a", "period")}  # fmt: skip
    print(pd.DataFrame(rows).T.to_string())


if __name__ == "__main__":
    main()
