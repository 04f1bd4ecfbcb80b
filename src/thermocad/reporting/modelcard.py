"""The report's model card and Grad-CAM examples (split from report.py to keep both small)."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from thermocad.evaluation.metrics import proportion_intervals
from thermocad.models.words import (
    input_kind,
    made_by,
    statistics_words,
    synthetic_training,
    training_sentence,
)
from thermocad.reporting import html
from thermocad.reporting.fit_card import prevalence_words
from thermocad.reporting.html import DISCLAIMER, esc, fmt_ci, img, prose, section, with_interval
from thermocad.reporting.hub_card import CHOSEN_ON_DMR, UNMEASURED
from thermocad.reporting.study_files import synthetic_note
from thermocad.utils.errors import ThermocadError
from thermocad.utils.tables import read_written


def _examples(test_dir: Path, n: int) -> pd.DataFrame:
    """Test images worth explaining, one of each in turn: the Sick woman scored highest, the
    Healthy woman scored highest (a false alarm, where the score is above the threshold: what
    a shortcut would show), the Sick woman scored lowest (the worst miss)."""
    from thermocad.io.find import READABLE_SUFFIXES

    pred = read_written(test_dir / "predictions.csv", "predictions table")
    pred = pred[pred["path"].astype(str).str.lower().str.endswith(READABLE_SUFFIXES)]  # thermograms
    sick, healthy = pred[pred["y"] == 1], pred[pred["y"] == 0]
    picks = [sick.nlargest(1, "prob"), healthy.nlargest(1, "prob"), sick.nsmallest(1, "prob")]
    return pd.concat(picks).drop_duplicates("path").head(n)


def gradcam_section(run_dir: Path | None, test_dir: Path | None, n: int = 3,
                    threshold: float | None = None) -> str:  # fmt: skip
    """Grad-CAM overlays of a few test images, when thermocad.inference.explain and a CNN are
    available; each called at `threshold` (the test's), or else the model's own."""
    if run_dir is None or test_dir is None or not (test_dir / "predictions.csv").exists():
        return section("gradcam", "<p class=missing>Not available: the selected model is not a "
                       "CNN, or it has no test predictions.</p>")  # fmt: skip
    try:
        from thermocad.inference.explain import explain_array
        from thermocad.inference.notes import called
        from thermocad.io.thermal import read_thermal
        from thermocad.models.bundle import load_bundle
        from thermocad.reporting.plots import save
        from thermocad.utils.out_names import plot_text

        bundle, body = load_bundle(run_dir), ""
        with tempfile.TemporaryDirectory() as tmp:  # drawn for the page: the study stays as it was
            for i, row in enumerate(_examples(test_dir, n).itertuples()):
                t = read_thermal(row.path)
                label = "Sick" if row.y else "Healthy"
                name = Path(row.path).name
                fig = explain_array(bundle, t.array, t.unit, title=plot_text(f"{name} (truly {label})"),
                                    threshold=threshold)  # fmt: skip
                cut = threshold if threshold is not None else bundle.threshold
                body += img(
                    save(fig, Path(tmp) / f"gradcam_{i}.png"),
                    f"Grad-CAM of {name}: truly {label}, P(Sick) {row.prob:.3f}, "
                    f"called {called(row.prob, cut)}",
                    wide=True,
                    rows=2,  # its four panels in a 2 x 2 grid
                )
    except Exception as exc:  # an explanation failing must not lose the whole report
        said = f"{esc(type(exc).__name__)}: {esc(exc)}"
        return section("gradcam", f"<p class=missing>Not available: {said}</p>")
    halves = ("" if bundle.meta.get("baseline") is None else " The map explains the CNN half "
              "only: the P(Sick) and the call are the served model's, the mean of the CNN's and "
              "the classical baseline's scores, which each figure gives; where the baseline's "
              "is the higher, it made most of the call.")  # fmt: skip
    note = ("<p>Where the CNN looked for its Sick score (Grad-CAM at the architecture's "
            "registered layer), on three test images: the Sick woman the served model scored "
            "highest, the Healthy woman it scored highest and the Sick woman it scored lowest. "
            "Attention on the calibration marker, the background or the image border means a "
            f"shortcut, not physiology.{halves}</p>")  # fmt: skip
    return section("gradcam", note + body)


def _unit(cohort_csv) -> str | None:
    """The cohort's unit when every file has the same one ("intensity": grey images)."""
    if not (cohort_csv and Path(cohort_csv).exists()):
        return None
    units = set(read_written(cohort_csv, "cohort file").get("unit", pd.Series()).astype(str))
    return units.pop() if len(units) == 1 else None


def _data_summary(cohort_csv, split_csv) -> str:
    parts = []
    if cohort_csv and Path(cohort_csv).exists():
        from thermocad.cohort.prepare import kept_rows
        from thermocad.synth.files import synthetic_share

        c = read_written(cohort_csv, "cohort file")
        kept = kept_rows(c)
        counts = kept.groupby("label")["patient_id"].nunique().to_dict()
        if len(kept) and synthetic_share(kept["path"]) == 1:
            parts.append("synthetic thermograms written by `thermocad synth`, not women")
        parts.append(f"{len(kept)} images of {kept['patient_id'].nunique()} patients "
                     f"({', '.join(f'{v} {k}' for k, v in counts.items())}); {len(c) - len(kept)} "
                     "images excluded (see Cohort)")  # fmt: skip
    if split_csv and Path(split_csv).exists():
        s = read_written(split_csv, "split file")
        per = s.groupby("split")["patient_id"].nunique().to_dict()
        parts.append("patients per split: " + ", ".join(f"{k} {v}" for k, v in per.items()))
    return "; ".join(parts) or "not available"


def _model_summary(compare_dir: Path | None, run_dir: Path | None) -> str:
    if run_dir is not None:
        meta = html.read_json(run_dir / "model.json") or {}  # a broken one is said by name
        transform = meta.get("transform", {})
        window = transform.get("normalization", {}).get("method", "robust")
        return (f"{esc(meta.get('arch'))} CNN, input {esc(meta.get('input_size'))} px, "
                f"{esc(meta.get('in_chans', 1))} channel(s) of {esc(meta.get('unit', 'celsius'))} "
                f"({esc(', '.join(transform.get('channels', ['temperature'])))}; window "
                f"{esc(window)}, crop {esc(transform.get('crop', 'none'))}, marker "
                f"{esc(transform.get('marker', 'keep'))}, background "
                f"{esc(transform.get('background', 'keep'))}), "
                + esc(training_sentence(meta.get("config") or {}, meta.get("initial_weights")))
                + ("; its P(Sick) is averaged with the classical baseline (breast "
                   f"{statistics_words(meta.get('unit'))} and asymmetry, logistic regression) "
                   "fitted on the same patients"
                   if meta.get("baseline") else "")
                + esc(_provenance(meta, run_dir, compare_dir)))  # fmt: skip
    if compare_dir and (Path(compare_dir) / "best.json").exists():
        return ("classical baseline: temperature statistics of the breast region and left/right "
                "asymmetry features, standardised, logistic regression")  # fmt: skip
    return "not available"


def _provenance(meta: dict, run_dir: Path, compare_dir: Path | None) -> str:
    """Who trained the model, where its files are, which thermocad made it and when."""
    patients = ((meta.get("data") or {}).get("train") or {}).get("patients") or {}
    who = f"{synthetic} patients" if (synthetic := synthetic_training(meta)) else "women"
    trained = (f"; trained on {sum(patients.values())} {who} ("
               + ", ".join(f"{n} {c}" for c, n in patients.items()) + ")") if patients else ""  # fmt: skip
    home = Path(compare_dir).parent if compare_dir else run_dir.parent
    where = os.path.relpath(run_dir, home)  # the study folder's own layout, wherever it lies
    made = f"{meta['trained_utc']:.10}" if isinstance(meta.get("trained_utc"), str) else (
        f"{datetime.fromtimestamp((run_dir / 'model.json').stat().st_mtime, UTC):%Y-%m-%d}")  # fmt: skip
    stored = f", decision threshold {t:.3f}" if isinstance(t := meta.get("threshold"), float) else ""  # fmt: skip
    return (f"{trained}; files: {where}/model.safetensors + model.json (self-describing{stored}), "
            f"written {made} by thermocad {made_by(meta)}")  # fmt: skip


def tested_run_note(test: dict) -> str:
    """What the tested model trained on: a CNN's fold-0 run saw the women outside fold 0, not
    every non-test woman (as the baseline candidate, refitted on all of them, does)."""
    run = str(test.get("run") or "")
    if not run.rstrip("/").endswith("fold0"):
        return ""
    halves = " (its baseline half too)" if str(test.get("model", "")).endswith("+baseline") else ""
    note = (f" The model tested is the fold-0 run: it{halves} trained on the non-test women "
            "outside fold 0, not on every non-test woman.")  # fmt: skip
    try:  # the folder's own threshold, chosen on fold 0's validation women alone
        stored = float((html.read_json(Path(run) / "model.json") or {})["threshold"])
    except (ThermocadError, KeyError, TypeError, ValueError):  # none there, or no threshold
        return note
    if abs(stored - float(test.get("threshold", stored))) > 5e-4:  # as written, to 3 places
        note += (f" Its model.json stores another threshold, {stored:.3f}, chosen on fold 0's "
                 "validation women alone: `predict` with that folder calls at it, not at the "
                 "threshold tested here (the model for users is `thermocad fit`'s, which "
                 "stores the cross-validated one).")  # fmt: skip
    return note


def _limitations(cohort_csv) -> str:
    """What the figures cannot say: of synthetic patients, or of a small confounded cohort
    (with what this cohort's confound audit flags)."""
    if synthetic_note(cohort_csv) is not None:
        return ("The patients are synthetic (thermocad synth): the figures show the pipeline "
                "working on a generator's disease, and say nothing about women or clinical "
                "performance; the shortcut audit finds only what the generator was asked to "
                "draw (synth --batch-effect).")  # fmt: skip
    from thermocad.evaluation.confounds import confound_audit

    found = cohort_csv and Path(cohort_csv).exists()
    audit = confound_audit(read_written(cohort_csv, "cohort file")) if found else None
    flags = audit.loc[audit["flag"], "quantity"].astype(str).tolist() if audit is not None else []
    return ("Small, single-centre data; confidence intervals are wide. Where the acquisition "
            "batch or date is confounded with the diagnosis, overall figures can reward a "
            "shortcut: the within-batch and period-matched figures are the honest ones. "
            + (f"In this cohort {_separate(len(flags))} ({', '.join(flags)}: their AUCs in the "
               "subgroups and shortcut audit); anything in the images that drifts with them can "
               "stand in for disease. " if flags else "")
            + "Scores can follow the room temperature: on DMR-IR, re-rendering the same Healthy "
            "women as if imaged in a warmer room raised their P(Sick) (docs/evaluation.md; "
            "`thermocad fit` measures its own model's room stress). The threshold was chosen "
            "on validation data and will need re-tuning on new cameras. " + UNMEASURED + " "
            + CHOSEN_ON_DMR)  # fmt: skip


def _separate(n: int) -> str:
    """'1 quantity separates the classes by itself', '3 quantities separate ... themselves'."""
    one = n == 1
    return f"{n} quantit{'y separates' if one else 'ies separate'} the classes by {'itself' if one else 'themselves'}"


def _failures(test: dict | None) -> str:
    if not test:
        return "not available"
    c = test["image"]["counts"]
    notes = [
        n
        for lvl in ("patient", "image")
        for n in test.get("subgroups", {}).get(lvl, {}).get("notes", [])
    ]
    women = (test.get("patient") or {}).get("counts")  # a CLAIM review: images alone, beside
    # a patient-level table, had read as 21 missed women where 1 was
    text = (f"On the test women: {women['fn']} missed Sick (false negatives) and {women['fp']} "
            f"false alarms; counted per image, {c['fn']} missed and {c['fp']} false alarms" if women else
            f"On the test images: {c['fn']} missed Sick (false negatives) and {c['fp']} false "
            "alarms")  # fmt: skip
    text += ("; see the galleries 'called Healthy, truly Sick (missed)', the costly error, "
            "and 'called Sick, truly Healthy (false alarms)'.")  # fmt: skip
    return text + "".join(f" Flag: {n}." for n in dict.fromkeys(notes))


def _nested_headline(compare_dir: Path | None) -> str:
    """The study's result in one sentence: the nested outer estimate, by period (`compare_dir`:
    the comparison that ran nested cross-validation, else None)."""
    from thermocad.evaluation.periods import shown_subsets
    from thermocad.reporting.periods import entry_ci

    nested = html.read_json(Path(compare_dir) / "nested" / "nested.json") if compare_dir else None
    if not nested:
        return ("not run (--nested): nothing here estimates the whole procedure on patients no "
                "choice saw; the held-out test, where there is one, scores the one model chosen "
                "on validation folds, whose figures are optimistic")  # fmt: skip
    subsets = nested["metrics"]["subsets"]
    parts = [f"{name} AUC {entry_ci(e, 'roc_auc', 'ci')} (n={e['n']})"
             for name, e in shown_subsets(subsets).items() if e.get("n")]  # fmt: skip
    overall = subsets.get("overall", {})
    return ("On women this run's choices did not see: " + "; ".join(parts) + "; sensitivity "
            f"{entry_ci(overall, 'sensitivity', 'sensitivity_ci')}, specificity "
            f"{entry_ci(overall, 'specificity', 'specificity_ci')} (see Result)")  # fmt: skip


def model_card_section(cohort_csv, split_csv, compare_dir: Path | None, test: dict | None,
                       run_dir: Path | None, nested_dir: Path | None = None) -> str:  # fmt: skip
    """Intended use, data, model, metrics with intervals and subgroups, limitations, failures."""
    if test:
        p, i = test["patient"], test["image"]
        images = ("One image per patient: the image level is the patient level. "
                  if i["n"] == p["n"] else
                  f"Image level (n={i['n']}): sensitivity "
                  f"{fmt_ci(i['sensitivity'], proportion_intervals(i)['sensitivity'])}, specificity "
                  f"{fmt_ci(i['specificity'], proportion_intervals(i)['specificity'])}, ROC AUC "
                  f"{fmt_ci(i['roc_auc'], i['bootstrap_ci'].get('roc_auc'))}. ")  # fmt: skip
        metrics = (f"Test, patient level (n={p['n']}): sensitivity {fmt_ci(p['sensitivity'], proportion_intervals(p)['sensitivity'])}, "
                   f"specificity {fmt_ci(p['specificity'], proportion_intervals(p)['specificity'])}, ROC AUC "
                   f"{fmt_ci(p['roc_auc'], p['bootstrap_ci'].get('roc_auc'))}, Brier {with_interval(p, 'brier')}. "
                   f"{images}Threshold {test['threshold']:.3f} on P(Sick), chosen on validation data. "
                   + prevalence_words(p) + "Subgroups: see 'Subgroups and shortcut audit'.")  # fmt: skip
    else:
        metrics = "no test split: only the validation comparison is available"
    items = {
        "Intended use": "Research on computer-aided detection in breast thermograms "
        f"({input_kind(_unit(cohort_csv))}): reproducing and auditing results, and teaching. "
        "Not for screening, triage or any clinical decision.",
        "Out of scope": "Stand-alone diagnosis; populations, cameras or protocols unlike the "
        "training data; images whose unit differs from the training data's.",
        "Data": _data_summary(cohort_csv, split_csv),
        "Model": _model_summary(compare_dir, run_dir)
        + (f".{prose(note)}" if (note := tested_run_note(test or {})) else ""),
        "Result (nested cross-validation)": _nested_headline(nested_dir),
        "Metrics (95% intervals)": metrics,
        "Limitations": _limitations(cohort_csv),
        "Failure cases": _failures(test),
        "Ethical considerations": DISCLAIMER + " Thermograms are images of women's bodies: keep "
        "them, the cohort tables and these reports under the data's access terms.",
        "Licence": "thermocad is MIT-licensed software; trained weights carry the terms of "
        "their training data and of the ImageNet weights they start from.",
    }
    body = "<dl class=card>" + "".join(f"<dt>{esc(k)}</dt><dd>{prose(v) if k != 'Model' else v}</dd>"
                                       for k, v in items.items()) + "</dl>"  # fmt: skip
    return section("model-card", body)
