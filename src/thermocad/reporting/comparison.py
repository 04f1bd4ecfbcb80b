"""The report's comparison section: every candidate on the same folds, as a table and plots."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from thermocad.evaluation.comparison_table import batch_label, display_name
from thermocad.reporting.html import HEADERS, esc, fmt_ci, img, read_json, section, table
from thermocad.reporting.periods import auc_n


def comparison_section(compare_dir: Path | None, by_image: bool = False) -> str:
    """The comparison table, AUC bars and each model's validation confusion matrix and ROC;
    `by_image`: the folds are an image-level split's, with women in several."""
    csv = Path(compare_dir or "") / "comparison.csv"
    if not compare_dir or not csv.exists():
        return section("comparison", '<p class="missing">comparison.csv not available</p>')
    from thermocad.reporting.plots import plot_bars

    t = pd.read_csv(csv)
    if "status" not in t or t["status"].ne("ok").all() or "roc_auc" not in t:
        return section("comparison", '<p class="bad">No model finished the comparison:</p>'
                       + table(t[[c for c in ("model", "status") if c in t]]))  # fmt: skip
    if "cnn_alone_patient_roc_auc" not in t:  # a comparison written before the column
        t["cnn_alone_patient_roc_auc"] = float("nan")
    served = {r["model"]: display_name(r) for _, r in t.iterrows()}
    best = (read_json(Path(compare_dir) / "best.json") or {}).get("best", "?")
    ok = t[t["status"] == "ok"]
    with tempfile.TemporaryDirectory() as tmp:  # drawn for the page: the study stays as it was
        bars = Path(tmp) / "comparison_auc.png"
        plot_bars(dict(zip(ok["model"].map(served), ok["roc_auc"], strict=True)),
                  {served[r.model]: (r.roc_auc_lo, r.roc_auc_hi) for r in ok.itertuples()},
                  bars, "validation ROC AUC (95% CI)",
                  "ROC AUC, patients of the validation folds (0.5: chance)")  # fmt: skip
        bars_img = img(bars, "validation AUC per model", 520)
    shown = _shown(t, served)
    halves = ("<p>A model named ARCH+baseline is the CNN averaged with the classical baseline, "
              "as served; the column CNN alone gives its CNN half by itself.</p>"
              if t["cnn_alone_patient_roc_auc"].notna().any() else "")  # fmt: skip
    folds = int(t["n_folds"].max())
    body = (f"<p>Validation = out-of-fold predictions over {folds} "
            f"{'image-level' if by_image else 'patient-grouped'} fold{'s' if folds != 1 else ''}"
            f"{' (a woman may be in several)' if by_image else ''}. Counts, sensitivity and specificity count women "
            f"(each woman's mean P(Sick) at the threshold chosen on the women: {_rule(compare_dir)}); the confusion "
            f"matrices below count images. Intervals: Wilson (proportions), bootstrap over patients "
            f"(AUC; BCa since 2026-12-06). Selected on validation data only: <b>{esc(served.get(best, best))}</b>.</p>"
            + halves
            + table(shown) + bars_img + per_fold(compare_dir, ok["model"], served)
            + paired(compare_dir, best, ok["model"], served)
            + "<div class=row>")  # fmt: skip
    for name in ok["model"]:
        shown_as = served[name]
        body += img(
            Path(compare_dir) / name / "confusion.png", f"{shown_as}: confusion (validation)", 340
        )
        body += img(Path(compare_dir) / name / "roc.png", f"{shown_as}: ROC (validation)", 360)
    return section("comparison", body + "</div>")


def _shown(t: pd.DataFrame, served: dict[str, str]) -> pd.DataFrame:
    """The comparison table as the report shows it, without columns that say nothing here: the
    status when every model finished, the image AUC when each woman has one image (it is the
    patient AUC), and a subset's n in every cell when it is the same for every model."""
    ok = t["status"] == "ok"
    shown = t[["model", "status", "tn", "fp", "fn", "tp"]].assign(  # accuracy: in the CSV
        model=t["model"].map(served)
    )
    if ok.all():
        shown = shown.drop(columns="status")
    one_image = {"n_images", "n_patients"} <= set(t) and (t["n_images"] == t["n_patients"]).all()
    keys = ("sensitivity", "specificity", *(() if one_image else ("roc_auc",)), "patient_roc_auc")
    for key in keys:
        shown[key] = [fmt_ci(v, (lo, hi)) if s == "ok" else "n/a" for v, lo, hi, s in
                      zip(t[key], t[f"{key}_lo"], t[f"{key}_hi"], t["status"], strict=True)]  # fmt: skip
    if one_image:  # one image per woman: one AUC
        shown = shown.rename(columns={"patient_roc_auc": "AUC (one image per woman)"})
    for key, name in (("batch", f"{batch_label(t)} AUC"), ("period", "period-matched AUC")):
        sizes = t.loc[ok, f"{key}_n"].dropna().unique() if f"{key}_n" in t else []
        same = len(sizes) == 1
        rows = t.drop(columns=f"{key}_n") if same else t
        header = f"{name} (n={int(sizes[0])})" if same else name
        shown[header] = [
            auc_n(r, key) if r["status"] == "ok" else "n/a" for _, r in rows.iterrows()
        ]
    shown["CNN alone: patient AUC"] = [
        "n/a" if pd.isna(v) else f"{v:.3f}" for v in t["cnn_alone_patient_roc_auc"]
    ]
    shown["threshold"] = t["threshold"]
    shown["parameters"] = [_count(v) for v in t["parameters"]]
    shown["train_time_s"] = ["n/a" if pd.isna(v) else f"{v:.0f}" for v in t["train_time_s"]]
    return shown.rename(columns=HEADERS)


def _count(n: float) -> str:
    """3415059 -> '3.4 M', 18 -> '18'."""
    if pd.isna(n):
        return "n/a"
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{int(n)}"


def _rule(compare_dir: Path) -> str:
    """The threshold rule in words, with the study's target (best.json; older ones: unsaid)."""
    from thermocad.reporting.html import read_json

    target = (read_json(Path(compare_dir) / "best.json") or {}).get("target_sensitivity")
    said = f"{float(target):.2f}" if isinstance(target, int | float) else "the target"
    return (
        f"the highest threshold whose pooled out-of-fold sensitivity reaches {said}, "
        "so that few Sick women are missed"
    )


def per_fold(compare_dir: Path, models, served: dict) -> str:
    """Each model's patient AUC in each validation fold (the CNN alone beside a CNN averaged
    with the baseline): the spread the pooled figure hides, and which fold the training
    curves (fold 0) stand for."""
    from thermocad.evaluation.metrics import aggregate_patients, roc_auc

    rows = []
    for name in models:
        path = Path(compare_dir) / name / "valid_predictions.csv"
        pred = pd.read_csv(path) if path.is_file() else pd.DataFrame()
        if "fold" not in pred or pred.empty:
            continue
        for prob, shown in (("prob", served[name]), ("prob_cnn", f"{name} alone")):
            if prob not in pred or (prob == "prob_cnn" and served[name] == name):
                continue
            women = {k: aggregate_patients(part, prob) for k, part in pred.groupby("fold")}
            rows.append({"model": shown} | {f"fold {k}": fmt_ci(roc_auc(w["y"], w["prob"]))
                                            for k, w in women.items()})  # fmt: skip
    if not rows:
        return ""
    return (
        "<p>Patient AUC in each validation fold, each on its own fold's women only (a wide "
        "spread is expected at these sizes; the training curves above are fold 0's):</p>"
        + table(pd.DataFrame(rows).astype(object).fillna(""))
    )


def _women(compare_dir: Path, name: str) -> pd.DataFrame | None:
    """A model's validation P(Sick) per woman (the mean of her images) in a column named for
    the model, and her label `y`, indexed by patient; None when its predictions are not there."""
    from thermocad.evaluation.metrics import aggregate_patients

    path = Path(compare_dir) / name / "valid_predictions.csv"
    if not path.is_file():
        return None
    women = aggregate_patients(pd.read_csv(path)).set_index("patient_id")
    return women["prob"].rename(name).to_frame().assign(y=women["y"])


def paired(compare_dir: Path, best: str, models, served: dict) -> str:
    """The selected model's validation AUC minus each other candidate's, on the same women,
    with a paired patient-bootstrap interval: whether these women settle the choice."""
    from thermocad.evaluation.intervals import paired_auc_difference
    from thermocad.evaluation.metrics import too_few

    chosen = _women(compare_dir, best)
    parts = []
    for name in (m for m in models if m != best):
        other = _women(compare_dir, name)
        if chosen is None or other is None:
            continue
        both = chosen.join(other[[name]], how="inner")
        diff, (lo, hi) = paired_auc_difference(both["y"], both[best], both[name])
        if diff != diff:  # NaN: one class only among the shared women
            continue
        interval = (f"{lo:+.3f} to {hi:+.3f}" if lo == lo else "no interval: "
                    + too_few({"Sick": int(both["y"].sum()), "Healthy": int((1 - both["y"]).sum())}))  # fmt: skip
        parts.append(f"{esc(served[name])}: {diff:+.3f} ({interval})")
    if not parts:
        return ""
    return (f"<p>Validation patient AUC of the selected {esc(served.get(best, best))} minus each "
            "other candidate's, on the same women (paired patient bootstrap, 95%): "
            + "; ".join(parts) + ". An interval that includes 0 means these women do not "
            "settle the choice.</p>")  # fmt: skip
