"""One self-contained HTML report of a study: every image embedded, no external assets."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from thermocad.evaluation.metrics import proportion_intervals
from thermocad.reporting import modelcard as card
from thermocad.reporting import study_files
from thermocad.reporting.comparison import comparison_section
from thermocad.reporting.glossary import glossary_html
from thermocad.reporting.html import (
    CSS,
    DISCLAIMER,
    METRIC_NAMES,
    NO_NESTED,
    SECTIONS,
    esc,
    fmt_ci,
    img,
    page_footer,
    prose,
    read_json,
    section,
    table,
    with_interval,
)
from thermocad.reporting.periods import nested_section, period_table, subgroup_section
from thermocad.reporting.summary import at_a_glance
from thermocad.utils.files import atomic_write_text, check_writable
from thermocad.utils.tables import as_text, finite_interval, read_written


def metrics_table(m: dict) -> str:
    """Sensitivity first: the headline metrics of one level (image or patient) with intervals."""
    w, b = proportion_intervals(m), m.get("bootstrap_ci", {})
    # Wilson, or the patient bootstrap's where a woman has several images (bootstrap.summarize),
    # whose reason is given where it has none (a PPV in replicates that call nobody Sick).
    wilson = m.get("proportion_ci_method", "wilson") == "wilson"
    reasons = m.get("bootstrap_ci_reasons") or {}
    rows = [(k, fmt_ci(m.get(k), w.get(k) or b.get(k)),
             "Wilson" if wilson and k in w else f"none: {reasons[k]}" if k in reasons
             else "bootstrap over patients" if k in w else _bootstrap_words(m, k) or "bootstrap")
            for k in ("sensitivity", "specificity", "accuracy", "ppv", "npv")]  # fmt: skip
    rows += [(k, fmt_ci(m.get(k), b.get(k)), _bootstrap_words(m, k))
             for k in ("balanced_accuracy", "f1", "roc_auc", "brier", *SCORES)]  # fmt: skip
    rows = [(METRIC_NAMES.get(k, k), v, i) for k, v, i in rows]
    df = pd.DataFrame(rows, columns=["metric", "value (95% CI)", "interval"])
    c = m.get("counts", {})
    counts = f"n={m.get('n')} ({m.get('n_patients', '?')} patients): TP {c.get('tp')}, FP {c.get('fp')}, TN {c.get('tn')}, FN {c.get('fn')}"
    return f"<p>{esc(counts)}</p>" + table(df)


SCORES = ("pr_auc", "calibration_intercept", "calibration_slope")  # bootstrapped since 2026-12


def _bootstrap_words(m: dict, key: str) -> str:
    """The interval column of a bootstrapped figure: 'bootstrap over patients', or 'none: '
    and why (bootstrap.bootstrap_intervals' reason; a metrics.json from before the reasons: too
    few women of a class; from before the calibration's intervals: nothing for those)."""
    b, reasons = m.get("bootstrap_ci") or {}, m.get("bootstrap_ci_reasons") or {}
    if key in reasons:
        return f"none: {reasons[key]}"
    if key not in b:  # no bootstrap run (n_boot 0), or none of the calibration's yet
        return ""
    if finite_interval(b[key]) is None:
        return "none: fewer than 5 women of a class"  # metrics.MIN_PER_CLASS
    bca = key == "roc_auc" and m.get("auc_ci_method") == "BCa"  # absent before 2026-12-06
    return "bootstrap over patients" + " (BCa)" * bca


def _filters_applied(cohort: pd.DataFrame) -> str:
    """Which of the study's filters this cohort could apply: those of the labels table need
    its columns (a reader had taken them as applied to a table without them)."""
    from thermocad.io.label_columns import LABEL_FILTERS

    def words(names: list[str]) -> str:
        return " and ".join(n.replace(" ", "-") for n in names) + " filter" + "s" * (len(names) > 1)

    present = [name for column, name in LABEL_FILTERS.items() if column in cohort.columns]
    absent = [name for column, name in LABEL_FILTERS.items() if column not in cohort.columns]
    return ("Exclusions include unreadable or implausible files, unrecognised names or copies, "
            "unlabelled patients, views other than frontal (where the file name gives the view), "
            "blurred images and frames of an odd size (the table below counts each reason). "
            + (f"The study's {words(present)} came from the labels table's column"
               f"{'s' * (len(present) > 1)}. " if present else "")
            + (f"Not applied: the study's {words(absent)}, whose column"
               f"{'s' * (len(absent) > 1)} the labels table lacks." if absent else ""))  # fmt: skip


def cohort_section(cohort_csv: Path | None) -> str:
    """Images and patients per class, and exclusions per reason."""
    if not cohort_csv or not Path(cohort_csv).exists():
        return section("cohort", '<p class="missing">cohort.csv not available</p>')
    from thermocad.cohort.prepare import kept_rows

    df = read_written(cohort_csv, "cohort file")
    reason = as_text(df.get("excluded_reason", pd.Series([""] * len(df))))
    kept = kept_rows(df)
    per_class = kept.groupby("label").agg(
        images=("path", "size"), patients=("patient_id", "nunique")
    )
    excl = reason[reason != ""].value_counts().rename_axis("reason").reset_index(name="images")
    body = (f"<p>Source: {esc(cohort_csv)}. Kept {len(kept)} of {len(df)} images from "
            f"{kept['patient_id'].nunique()} patients. Ground truth (the reference standard): "
            "the per-patient diagnosis in the labels table (Healthy / Sick), applied to every "
            "image of the patient; how each diagnosis was made (biopsy, imaging, follow-up) is "
            "as that table's source records it, and thermocad does not check it.</p>"
            f"<p>{esc(_filters_applied(df))}</p>"
            + table(per_class.reset_index()) + "<h3>Exclusions</h3>"
            + (table(excl) if len(excl) else "<p>No exclusions.</p>"))  # fmt: skip
    return section("cohort", body)


def split_section(split_csv: Path | None) -> str:
    """Patients and images per split (and per fold), with the leak check."""
    if not split_csv or not Path(split_csv).exists():
        return section("split", '<p class="missing">split.csv not available</p>')
    df = read_written(split_csv, "split file")
    by = df.groupby(["split", "label"]).agg(
        images=("path", "size"), patients=("patient_id", "nunique")
    )
    from thermocad.cohort.split import shared_patients

    leaks = shared_patients(df)  # patients in several splits or folds: must be none
    verdict = ("<p class=ok>Leak check passed: no patient appears in more than one split or fold.</p>"
               if not leaks else f"<p class=bad>LEAK: patients in several splits or folds: {esc(leaks[:20])}</p>")  # fmt: skip
    body = table(by.reset_index()) + verdict
    if "fold" in df.columns and (df["fold"] >= 0).any():
        folds = df[df["fold"] >= 0].groupby(["fold", "label"])["patient_id"].nunique()
        body += "<h3>Cross-validation folds (patients)</h3>" + table(
            folds.rename("patients").reset_index()
        )
    return section("split", body)


def _run_block(run_dir: Path) -> str:
    from thermocad.reporting.plots import plot_history

    history, curves = run_dir / "history.csv", run_dir / "history.png"
    # Drawn here for runs that have none, and again when older than the history (a run
    # retrained in place by a version that left the old plot): never an earlier run's curves.
    if history.exists() and (
        not curves.exists() or curves.stat().st_mtime < history.stat().st_mtime
    ):
        plot_history(history, curves)
    cfg = read_json(run_dir / "config.json") or {}
    used = (read_json(run_dir / "model.json") or {}).get("lr")
    finder = "learning-rate finder" + (
        f" (the run's head rate: {used:.2g}, the recipe's own unless --lr-find)" if used else "")  # fmt: skip
    # Each figure's alt text names its run: a screen reader lists one per architecture.
    which = f"{run_dir.parent.name} ({run_dir.name})"
    alt = {"finder": f"{which}: {finder}", "schedule": f"{which}: learning-rate schedule",
           "curves": f"{which}: training curves"}  # fmt: skip
    return (f"<div class=run><h3>{esc(which)}</h3><div class=row>"
            + img(run_dir / "lr_find.png", alt["finder"], 380, caption=finder)
            + img(run_dir / "schedule.png", alt["schedule"], 380, caption="learning-rate schedule")
            + img(curves, alt["curves"], 640, caption="training curves") + "</div></div>"
            + (f"<details><summary>Training configuration</summary><pre>{esc(json.dumps(cfg, indent=1))}</pre></details>" if cfg else ""))  # fmt: skip


def training_section(compare_dir: Path | None) -> str:
    """lr_find, schedule and training curves of each compared CNN's first-fold run."""
    runs = sorted(Path(compare_dir).glob("*/fold0/model.json")) if compare_dir else []
    compared = (read_json(Path(compare_dir) / "best.json") or {}).get("models", []) if runs else []
    # Only the models best.json names: not a run an earlier comparison left (--force).
    runs = [m for m in runs if m.parent.parent.name in compared]
    if not runs:
        return section("training", "<p>No CNN was trained (classical baseline only).</p>")
    note = "<p>One run per architecture shown (fold 0, the split as written); every fold has its own folder.</p>"
    return section("training", note + "".join(_run_block(m.parent) for m in runs))


def test_section(test: dict | None, test_dir: Path | None) -> str:
    if not test:
        return section("test", '<p class="missing">no test split: test metrics not available</p>')
    one_each = test["image"].get("n") == test["patient"].get("n")  # one image per woman
    images = ("<p>One image per patient: the image-level figures are the patient-level ones.</p>"
              if one_each else metrics_table(test["image"]))  # fmt: skip
    body = (f"<p>Model <b>{esc(test.get('model', test.get('arch', '?')))}</b>, evaluated once on the test split at "
            f"threshold {test['threshold']:.3f} on P(Sick) ({esc(test.get('threshold_source', 'chosen on validation data'))}), "
            f"applied unchanged.{prose(card.tested_run_note(test))}</p>" + lockbox_note(test.get("lockbox"))
            + "<h3>Patient level (mean probability per patient)</h3>"
            + metrics_table(test["patient"]) + "<h3>By batch and period (patients)</h3>"
            + period_table(test.get("by_period")) + "<h3>Image level</h3>" + images
            + "<div class=row>" + img(test_dir / "confusion.png", "confusion matrix (test, images)", 360)
            + img(test_dir / "roc.png", "ROC with the operating point (test)", 380) + "</div>")  # fmt: skip
    return section("test", body)


def lockbox_note(lockbox: dict | None) -> str:
    """How many models have been scored on this test set (evaluation/lockbox.py)."""
    if not lockbox:
        return ""
    from thermocad.evaluation.lockbox import by_name, describe, refreshed

    lockbox = refreshed(lockbox)
    text = describe(by_name(lockbox))  # the files by name: no home folder in the report
    text = esc(text[:1].upper() + text[1:] + ".")
    return f"<p class=bad>{text}</p>" if lockbox["models"] > 1 else f"<p>{text}</p>"


def calibration_section(test: dict | None, test_dir: Path | None) -> str:
    if not test:
        return section("calibration", '<p class="missing">not available</p>')
    m = test["image"]
    slope = with_interval(m, "calibration_slope")
    if slope == "n/a" and pd.notna(m.get("calibration_intercept")):  # classes separated
        slope += " (P(Sick) separates the classes: no finite slope)"
    body = (f"<p>Brier score {esc(with_interval(m, 'brier'))}; calibration intercept "
            f"{esc(with_interval(m, 'calibration_intercept'))} and slope "
            f"{esc(slope)} (logistic recalibration; perfect: 0 and 1; "
            "a slope below 1 means over-confident probabilities). Test images; 95% intervals "
            "by bootstrap over the women, a woman's images drawn together. The diagram bins "
            "the women (each at her mean P(Sick)), as its Wilson intervals assume.</p>"
            + img(test_dir / "reliability.png", "reliability diagram (test)", 360))  # fmt: skip
    return section("calibration", body)


def galleries_section(test_dir: Path | None) -> str:
    from thermocad.reporting.galleries import EMPTY, GALLERIES, TITLES, gallery_alt

    if test_dir is None:
        return section("galleries", '<p class="missing">no test split: no test images</p>')
    body = ("<p>Test images, each titled with the woman's true diagnosis and P(Sick); a "
            "gallery's images share one colour scale.</p>")  # fmt: skip
    for g in GALLERIES:
        alt = gallery_alt(test_dir, g)
        if alt.endswith(f": {EMPTY}"):  # said in words, not a picture of them
            body += f'<p class="missing">{esc(alt)}</p>'
            continue
        body += img(test_dir / f"gallery_{g}.png", alt, wide=True, caption=TITLES[g])
    return section("galleries", body)


def write_report(
    out_html: str | os.PathLike,
    cohort_csv: str | os.PathLike | None = None,
    split_csv: str | os.PathLike | None = None,
    compare_dir: str | os.PathLike | None = None,
    title: str = "thermocad study report",
    command: str | None = None,
    force: bool = False,
    note: str | None = None,
    n_boot: int | None = None,
) -> Path:
    """The whole study in one HTML file, every section of SECTIONS; `note`: a paragraph about
    the data (the demo's: synthetic); `n_boot`: the study's resamples, said in the glossary."""
    from thermocad import __version__

    out = check_writable(out_html, force)
    cdir = Path(compare_dir) if compare_dir else None
    # best.json, written last by compare, says what this comparison ran: without it the
    # comparison did not finish, and a test or nested folder it does not name is an earlier
    # comparison's, left in a folder reused with --force; neither is reported as this one's.
    ran = (read_json(cdir / "best.json") if cdir else None) or {}
    test_dir = cdir / "test" if cdir and ran.get("test") else None
    test = read_json(test_dir / "metrics.json") if test_dir else None
    nested_dir = cdir if ran.get("nested") else None
    run_dir = study_files.best_run_dir(cdir)
    by_image = study_files.by_image_note(split_csv)  # None: a split by patient
    note = " ".join(filter(None, [by_image, study_files.smoke_note(cdir),
                                  study_files.resumed_note(ran),
                                  note or study_files.synthetic_note(cohort_csv)]))  # fmt: skip
    nested = read_json(nested_dir / "nested" / "nested.json") if nested_dir else None
    who = "synthetic patients" if study_files.synthetic_note(cohort_csv) else "women"
    if who != "women" and "synthetic" not in title.lower():  # a tab's name is read alone
        title += ": synthetic data"
    served = ran.get("best_served") or ran.get("best")  # a study before best_served: its name
    glance = at_a_glance(nested, test, served, who) if cdir else ""
    parts = [
        section("disclaimer", f'<p class="disclaimer">{esc(DISCLAIMER)}</p>'),
        nested_section(nested_dir),  # the result first; then where it came from
        cohort_section(Path(cohort_csv) if cohort_csv else None),
        split_section(Path(split_csv) if split_csv else None),
        training_section(cdir),
        comparison_section(cdir, by_image=bool(by_image)),
        test_section(test, test_dir),
        calibration_section(test, test_dir),
        subgroup_section(test, Path(cohort_csv) if cohort_csv else None),
        galleries_section(test_dir),
        card.gradcam_section(run_dir, test_dir, threshold=test["threshold"] if test else None),
        card.model_card_section(cohort_csv, split_csv, cdir, test, run_dir, nested_dir),
        section("glossary", glossary_html(n_boot, by_image=bool(by_image))),
    ]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    titles = SECTIONS | ({} if nested else {"nested": NO_NESTED})
    nav = " · ".join(f'<a href="#{k}">{esc(v)}</a>' for k, v in titles.items())
    doc = (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width, initial-scale=1'><title>{esc(title)}</title>"
           f"<style>{CSS}</style>{page_footer(f'{title}; thermocad {__version__}; {stamp}')}</head><body><h1>{esc(title)}</h1><p class=meta>thermocad "
           f"{esc(__version__)}, report written {stamp}" + (f"; study command: <code>{esc(command)}</code>" if command else "")
           + "</p>" + (f'<p class="note">{esc(note)}</p>' if note else "") + glance
           + f"<nav>{nav}</nav>" + "\n".join(parts) + "</body></html>\n")  # fmt: skip
    return atomic_write_text(out, doc)
