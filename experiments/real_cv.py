"""Patient-grouped 5-fold cross-validation on real DMR-IR thermograms, repeated over seeds.

For each recipe (TrainConfig overrides of efficientnet_lite0) and each seed: `make_split`
(5 patient-grouped folds, no held-out test) -> `compare` (the recipe and the classical
baseline on the same folds, out-of-fold predictions). Reported per recipe, averaged over seeds:
ROC AUC overall, within acquisition batch A (batch B is all Sick), and within the batch-A
patients acquired in the same period as the batch-A Sick patients (ids >= 120: acquisition
order is itself confounded with diagnosis in batch A); sensitivity and specificity at a
threshold chosen for each fold on the other folds' out-of-fold predictions (Youden).

    .venv/bin/python experiments/real_cv.py --out /tmp/real_cv --recipes baseline chest_asym --seeds 0 1 2
    .venv/bin/python experiments/real_cv.py --out /tmp/real_cv --recipes chest_asym_320_ens --versus baseline
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from harness import difference, fold_thresholds, paired_difference, scores, seed_mean, summary
from thermocad.cohort.prepare import prepare_cohort
from thermocad.cohort.split import make_split, write_split
from thermocad.evaluation.compare import compare
from thermocad.evaluation.metrics import wilson_ci
from thermocad.training.config import TrainConfig
from thermocad.utils.tables import markdown_table

DATA = Path(__file__).resolve().parents[2] / "shared/data/dmr-ir-frontal"
# Head-only variants of the study's recipe: frozen ImageNet body, head on precomputed features.
# Every recipe spells out its inputs, so results do not move when TrainConfig's defaults do.
INPUTS = {"size": None, "crop": "none", "marker": "keep", "channels": ("temperature",),
          "ensemble": "none", "norm": "robust", "background": "keep"}  # fmt: skip
HEAD = {**INPUTS, "head_epochs": 30, "frozen_cycles": 0, "cycles": 0, "tta": 4}
CHEST = {"marker": "remove", "crop": "breasts", "channels": ("temperature", "asymmetry")}
CHEST_320 = {**HEAD, **CHEST, "size": 320}
# TrainConfig()'s recipe until the relative window (below) replaced the per-image one.
DEFAULT = {**CHEST_320, "ensemble": "baseline", "tta": 0}
# The relative window's asymmetry map alone (docs/results.md).
ASYM_DEFAULT = {**DEFAULT, "norm": "relative", "channels": ("asymmetry",)}
# TrainConfig()'s recipe now: that map, with no asymmetry where a point or its mirror is off
# the body (experiments/bilateral_mask.py).
SYM_DEFAULT = {**ASYM_DEFAULT, "background": "symmetric"}
# The study's unfrozen stage after the head: SGDR cycles of 1, 2 (and 4) epochs, TTA.
FINETUNE = {**INPUTS, **CHEST, "ensemble": "none", "head_epochs": 30, "frozen_cycles": 0, "cycles": 2,
            "tta": 4}  # fmt: skip
RECIPES = {
    "baseline": None,  # the classical baseline alone (temperature statistics + asymmetry, LR)
    "whole": {**HEAD},
    "whole_nomarker": {**HEAD, "marker": "remove"},
    "chest": {**HEAD, "marker": "remove", "crop": "breasts"},
    "chest_asym": {**HEAD, **CHEST},
    "chest_asym_320": CHEST_320,
    "chest_320": {**HEAD, "marker": "remove", "crop": "breasts", "size": 320},
    # Averaged with the baseline fitted on the same training patients (equal weights: nothing
    # tuned on these folds); without TTA.
    "chest_asym_320_ens": {**CHEST_320, "ensemble": "baseline"},
    "chest_asym_320_notta": {**CHEST_320, "tta": 0},
    # The previous default of train and study (docs/results.md).
    "chest_asym_320_ens_notta": DEFAULT,
    "chest_asym_384": {**HEAD, **CHEST, "size": 384},
    "lite2_chest_asym_320": {**CHEST_320, "arch": "efficientnet_lite2"},
    # Shorter and longer training of the head on the precomputed features (default: 30 epochs).
    "chest_asym_320_ens_notta_head10": {**DEFAULT, "head_epochs": 10},
    "chest_asym_320_ens_notta_head90": {**DEFAULT, "head_epochs": 90},
    # The default at 384 px instead of 320 px.
    "chest_asym_384_ens_notta": {**DEFAULT, "size": 384},
    # A fixed scale in degrees (22-36 C: 14 C wide) centred on the skin's median temperature
    # (the two-channel default, docs/results.md).
    "chest_asym_320_ens_notta_relative": {**DEFAULT, "norm": "relative"},
    # The relative window's asymmetry map alone, one grey channel (experiments/two_stream.py).
    "chest_asymonly_320_ens_notta_relative": ASYM_DEFAULT,
    "chest_asymonly_320_ens_notta_relative_symmetric": SYM_DEFAULT,
    # TrainConfig()'s recipe on the other two offline ImageNet architectures.
    "lite1_chest_asymonly_320_ens_notta_relative_symmetric": {
        **SYM_DEFAULT,
        "arch": "efficientnet_lite1",
    },
    "lite2_chest_asymonly_320_ens_notta_relative_symmetric": {
        **SYM_DEFAULT,
        "arch": "efficientnet_lite2",
    },
    # The asymmetry-map default on the other two offline ImageNet architectures.
    "lite1_chest_asymonly_320_ens_notta_relative": {**ASYM_DEFAULT, "arch": "efficientnet_lite1"},
    "lite2_chest_asymonly_320_ens_notta_relative": {**ASYM_DEFAULT, "arch": "efficientnet_lite2"},
    # The previous default on the other offline ImageNet architectures (their CNN-alone scores
    # are the prob_cnn column of the same runs).
    "lite1_chest_asym_320_ens_notta": {**DEFAULT, "arch": "efficientnet_lite1"},
    "lite2_chest_asym_320_ens_notta": {**DEFAULT, "arch": "efficientnet_lite2"},
    "chest_asym_finetune": {**FINETUNE, "size": None},
    "chest_asym_320_finetune": {**FINETUNE, "size": 320},
    "chest_asym_320_finetune7": {**FINETUNE, "size": 320, "cycles": 3},  # 1+2+4 epochs
    # The asymmetry-map default followed by the study's unfrozen stage (1+2+4 epochs, SGDR,
    # differential learning rates), still without TTA and averaged with the baseline.
    "chest_asymonly_320_ens_notta_relative_finetune7": {**ASYM_DEFAULT, "cycles": 3},
}
# Measured, then removed from TrainConfig with their options (experiments/README.md): one-cycle
# instead of SGDR for the head, only the body in view (the room filled with the coldest skin
# value), and every image also mirrored. Kept as the record of what was run.
REMOVED_RECIPES = {
    "chest_asym_320_ens_onecycle": {**CHEST_320, "ensemble": "baseline", "schedule": "one_cycle"},
    "chest_asym_320_ens_notta_nobg": {**DEFAULT, "background": "remove"},
    "chest_asym_320_ens_notta_mirror": {**DEFAULT, "mirror": True},
}


def cnn_half(recipe: str) -> tuple[list[tuple[str, str]], None]:
    """A derived recipe: the CNN half (`prob_cnn`) of an ensemble recipe's runs, alone."""
    return [(recipe, "prob_cnn")], None


# Scores derived from other recipes' out-of-fold predictions (same folds and seeds, nothing
# refitted): each architecture's CNN alone (the prob_cnn column of its ensemble run), and the
# three architectures' CNNs averaged, alone or then averaged with the baseline (prob_baseline:
# the baseline fitted on the same training patients).
ARCHS = [("chest_asym_320_notta", "prob"), ("lite1_chest_asym_320_ens_notta", "prob_cnn"),
         ("lite2_chest_asym_320_ens_notta", "prob_cnn")]  # fmt: skip
BASELINE_PART = ("lite1_chest_asym_320_ens_notta", "prob_baseline")
# The same for the asymmetry-map default.
ASYM = "chest_asymonly_320_ens_notta_relative"
SYM = f"{ASYM}_symmetric"  # TrainConfig()'s recipe
ARCHS_ASYM = [(ASYM, "prob_cnn"), (f"lite1_{ASYM}", "prob_cnn"), (f"lite2_{ASYM}", "prob_cnn")]
DERIVED = {
    "chest_asym_320_ens_notta_cnn": cnn_half("chest_asym_320_ens_notta"),
    "chest_asym_384_ens_notta_cnn": cnn_half("chest_asym_384_ens_notta"),
    "chest_asym_320_ens_notta_relative_cnn": cnn_half("chest_asym_320_ens_notta_relative"),
    "chest_asymonly_320_ens_notta_relative_cnn": cnn_half("chest_asymonly_320_ens_notta_relative"),
    "chest_asymonly_320_ens_notta_relative_symmetric_cnn": cnn_half(
        "chest_asymonly_320_ens_notta_relative_symmetric"
    ),
    "chest_asymonly_320_ens_notta_relative_finetune7_cnn": cnn_half(
        "chest_asymonly_320_ens_notta_relative_finetune7"
    ),
    # The default's two halves combined by the mean of their log-odds (a geometric mean of
    # the odds) instead of the mean of their probabilities.
    "chest_asymonly_320_ens_notta_relative_logit": (
        [("chest_asymonly_320_ens_notta_relative", "prob_cnn")],
        ("chest_asymonly_320_ens_notta_relative", "prob_baseline"),
        "logit",
    ),
    "lite1_chest_asym_320_notta": ([ARCHS[1]], None),
    "lite2_chest_asym_320_notta": ([ARCHS[2]], None),
    "lite012_chest_asym_320_notta": (ARCHS, None),
    "lite012_chest_asym_320_ens_notta": (ARCHS, BASELINE_PART),
    f"lite1_{ASYM}_cnn": ([ARCHS_ASYM[1]], None),
    f"lite2_{ASYM}_cnn": ([ARCHS_ASYM[2]], None),
    f"lite012_{ASYM}_cnn": (ARCHS_ASYM, None),
    f"lite012_{ASYM}": (ARCHS_ASYM, (ASYM, "prob_baseline")),
    f"lite1_{SYM}_cnn": cnn_half(f"lite1_{SYM}"),
    f"lite2_{SYM}_cnn": cnn_half(f"lite2_{SYM}"),
}


def derive(name: str, preds: dict[str, list[pd.DataFrame]]) -> list[pd.DataFrame]:
    """Per seed, the predictions of derived recipe `name` from its sources' predictions."""
    cnns, baseline, *combine = DERIVED[name]
    out = []
    for i, first in enumerate(preds[cnns[0][0]]):
        rows = first.set_index("path")
        parts = {(r, c): preds[r][i].set_index("path").loc[rows.index, c].to_numpy(float)
                 for r, c in cnns + ([baseline] if baseline else [])}  # fmt: skip
        prob = np.mean([parts[part] for part in cnns], axis=0)
        if baseline is not None and combine == ["logit"]:
            pair = np.clip([prob, parts[baseline]], 1e-6, 1 - 1e-6)
            prob = expit(logit(pair).mean(axis=0))
        elif baseline is not None:
            prob = (prob + parts[baseline]) / 2
        out.append(rows.assign(prob=prob).reset_index())
    return out


def at_target(preds: list[pd.DataFrame], target: float) -> dict[str, tuple[int, int, int, int]]:
    """(tp, fn, tn, fp) pooled over seeds, overall and in batch A, at thresholds chosen for each
    fold on the other folds to reach sensitivity `target` (compare's threshold rule)."""
    out = {"all": np.zeros(4, int), "A": np.zeros(4, int)}
    for pred in preds:
        y = pred["y"].to_numpy(int)
        sick = pred["prob"].to_numpy(float) >= fold_thresholds(pred, target).to_numpy()
        a = (pred["acquisition_batch"] == "A").to_numpy()
        for name, m in (("all", np.ones_like(a)), ("A", a)):
            yy, ss = y[m], sick[m]
            out[name] += [(ss & (yy == 1)).sum(), (~ss & (yy == 1)).sum(),
                          (~ss & (yy == 0)).sum(), (ss & (yy == 0)).sum()]  # fmt: skip
    return {k: tuple(int(x) for x in v) for k, v in out.items()}


def run(
    out: Path, recipes: list[str], seeds: list[int], data: Path = DATA
) -> tuple[pd.DataFrame, dict]:
    cohort = out / "cohort" / "cohort.csv"
    if not cohort.exists():
        prepare_cohort(data, data / "labels.csv", out / "cohort")
    rows, preds = [], {}
    for seed in seeds:
        split_csv = out / f"split_seed{seed}.csv"
        if not split_csv.exists():
            write_split(make_split(cohort, valid=0.2, test=0.0, folds=5, seed=seed), split_csv)
        for name in recipes:
            run_dir = out / name / f"seed{seed}"
            recipe = dict(RECIPES[name] or {})
            model = (
                "baseline" if RECIPES[name] is None else recipe.pop("arch", "efficientnet_lite0")
            )
            # Absent when the recipe has not run yet, or when its model failed.
            if not (run_dir / model / "valid_predictions.csv").exists():
                archs, config = [], None
                if RECIPES[name] is not None:
                    archs, config = [model], TrainConfig(seed=seed, **recipe)
                compare(split_csv, archs, run_dir, config, baseline=model == "baseline",
                        force=True, n_boot=0)  # fmt: skip
            pred = pd.read_csv(run_dir / model / "valid_predictions.csv")
            rows.append({"recipe": name, "seed": seed, **scores(pred)})
            preds.setdefault(name, []).append(pred)
    return pd.DataFrame(rows), preds


def operating_points(preds: list[pd.DataFrame], sens: float = 0.9, spec: float = 0.8) -> dict:
    """With hindsight (any threshold, on the pooled seed-averaged scores): the best specificity
    at sensitivity >= `sens` and the best sensitivity at specificity >= `spec`, overall and in
    batch A. An upper bound on what any threshold chosen without hindsight can give."""
    from sklearn.metrics import roc_curve

    mean = seed_mean(preds)
    out = {}
    for name, df in (("all", mean), ("A", mean[mean["batch"] == "A"])):
        fpr, tpr, _ = roc_curve(df["y"], df["prob"])
        out[name] = (float((1 - fpr)[tpr >= sens].max()), float(tpr[1 - fpr >= spec].max()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DATA,
                        help="thermal files and labels.csv (default: the shared DMR-IR set)")  # fmt: skip
    names = sorted([*RECIPES, *DERIVED])
    parser.add_argument("--recipes", nargs="+", default=["chest_asym"], choices=names)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--versus", choices=names,
                        help="also give each recipe's AUC difference to this one (paired bootstrap)")  # fmt: skip
    parser.add_argument("--operating-points", action="store_true",
                        help="also give the best specificity at sensitivity 0.90 and the best "
                        "sensitivity at specificity 0.80 (any threshold, with hindsight)")  # fmt: skip
    parser.add_argument("--target-sensitivity", type=float, metavar="T",
                        help="also give sensitivity and specificity at thresholds chosen for each "
                        "fold on the other folds to reach sensitivity T")  # fmt: skip
    args = parser.parse_args()
    recipes = list(dict.fromkeys(args.recipes + ([args.versus] if args.versus else [])))
    sources = [r for name in recipes for r in (
        [name] if name in RECIPES else
        [part for part, _ in DERIVED[name][0]] + ([DERIVED[name][1][0]] if DERIVED[name][1] else [])
    )]  # fmt: skip
    table, preds = run(args.out, list(dict.fromkeys(sources)), args.seeds, args.data)
    for name in recipes:
        if name in DERIVED:
            preds[name] = derive(name, preds)
            rows = [
                {"recipe": name, "seed": seed, **scores(p)}
                for seed, p in zip(args.seeds, preds[name], strict=True)
            ]
            table = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
    table = table[table["recipe"].isin(recipes)]
    table = table.sort_values("recipe", key=lambda r: r.map(recipes.index), kind="stable")
    table.to_csv(args.out / "real_cv_runs.csv", index=False)
    text = summary(table, preds)
    if args.versus:
        rows = [[name, *(difference(v) for v in paired_difference(preds[name], preds[args.versus])
                 .values())] for name in recipes if name != args.versus]  # fmt: skip
        header = [
            "recipe",
            f"AUC - {args.versus} (95% CI)",
            f"batch A: AUC - {args.versus} (95% CI)",
        ]
        text += "\n\n" + markdown_table(header, rows)
    if args.operating_points:
        header = ["recipe", "specificity at sensitivity >= 0.90", "sensitivity at specificity >= 0.80",
                  "batch A: specificity at sensitivity >= 0.90",
                  "batch A: sensitivity at specificity >= 0.80"]  # fmt: skip
        rows = [[name, *operating_points(preds[name])["all"], *operating_points(preds[name])["A"]]
                for name in recipes]  # fmt: skip
        text += "\n\n" + markdown_table(header, rows)
    if args.target_sensitivity is not None:
        t = args.target_sensitivity
        header = ["recipe", f"sensitivity (threshold for {t:.2f} on the other folds)", "specificity",
                  "batch A: sensitivity", "batch A: specificity"]  # fmt: skip
        rows = []
        for name in recipes:
            cells = []
            for tp, fn, tn, fp in at_target(preds[name], t).values():
                for k, n in ((tp, tp + fn), (tn, tn + fp)):
                    lo, hi = wilson_ci(k, n)
                    cells.append(f"{k / n:.3f} ({lo:.3f}-{hi:.3f})")
            rows.append([name, *cells])
        text += "\n\n" + markdown_table(header, rows)
    (args.out / "real_cv_summary.md").write_text(text + "\n")
    print(text)
    print(
        json.dumps(
            {"recipes": {k: RECIPES.get(k) or DERIVED.get(k) for k in args.recipes}}, default=list
        )
    )


if __name__ == "__main__":
    main()
