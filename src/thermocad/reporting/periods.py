"""The report's period-aware pieces: AUC by batch and period, the nested result, the subgroups
and the confound audit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from thermocad.evaluation.periods import shown_subsets
from thermocad.reporting.html import NO_NESTED, esc, fmt_ci, read_json, section, table
from thermocad.utils.tables import as_text, finite_interval, read_written


def auc_n(row, key: str) -> str:
    """'0.812 (0.700-0.900), n=91' from a comparison row's `key`_roc_auc columns, or n/a."""
    get = row.get
    auc = get(f"{key}_roc_auc")
    if auc is None or pd.isna(auc):
        return "n/a"
    lo, hi = get(f"{key}_roc_auc_lo"), get(f"{key}_roc_auc_hi")
    n = get(f"{key}_n")
    ci = None if lo is None or pd.isna(lo) else (lo, hi)
    return fmt_ci(auc, ci) + ("" if n is None or pd.isna(n) else f", n={int(n)}")


def period_table(periods: dict | None) -> str:
    """Patient-level AUC overall, within each two-class batch and period-matched, with n."""
    if not periods:
        return '<p class="missing">no by-period metrics</p>'
    rows = []
    for name, e in shown_subsets(periods["subsets"]).items():
        n = "n/a" if e.get("n") is None else f"{e['n']} ({e['n_sick']} Sick)"
        rows.append({"subset": name, "patients": n, "AUC (95% CI)": subset_auc(e)})
    return table(pd.DataFrame(rows)) + period_note(periods)


def subset_auc(entry: dict) -> str:
    """'0.812 (0.700-0.900)', or '0.500 (no interval: fewer than 5 Sick women)', or n/a."""
    from thermocad.evaluation.metrics import too_few

    shown = fmt_ci(entry.get("roc_auc"), finite_interval(entry.get("ci")))
    if shown == "n/a" or "(" in shown or entry.get("n") is None:
        return shown
    few = too_few({"Sick": entry["n_sick"], "Healthy": entry["n"] - entry["n_sick"]})
    return shown + f" (no interval: {few})" if few else shown


def period_note(periods: dict) -> str:
    """What 'period-matched' meant here: each batch's shared date range, or n/a."""
    room = room_note(periods.get("healthy_room_drift"))
    if not periods.get("dates"):
        return "<p>No acquisition dates in the data: the period-matched subset is n/a.</p>" + room
    ranges = "; ".join(f"from {r[0]} to {r[1]} (batch {b})"
                       for b, r in periods.get("period_ranges", {}).items() if r)  # fmt: skip
    return (f"<p>Period-matched: the women of a batch imaged inside the dates where both "
            f"classes occur in it, over the whole cohort (those in this table were imaged "
            f"{esc(ranges or 'outside any such dates')}).</p>"
            + drift_note(periods.get("healthy_date_drift")) + room)  # fmt: skip


def drift_note(drift: dict | None) -> str:
    """The Healthy women's date drift of P(Sick), flagged when its interval excludes 0.5."""
    if not drift:
        return ""
    from thermocad.evaluation.metrics import MIN_PER_CLASS

    ci = finite_interval(drift.get("ci"))
    auc = fmt_ci(drift["roc_auc"], ci)
    few = [side for side in ("inside", "outside") if drift[f"n_{side}"] < MIN_PER_CLASS]
    if ci is None and few:  # a figure without an interval says why
        auc += f" (no interval: fewer than {MIN_PER_CLASS} Healthy women {' and '.join(few)} it)"
    text = (
        f"Date drift: among the Healthy women of batch {esc(drift['batch'])}, P(Sick) "
        f"tells the {drift['n_inside']} imaged inside the shared period from the "
        f"{drift['n_outside']} imaged outside it with AUC {auc}. "
        "All of them are Healthy: 0.5 means the model does not follow the acquisition "
        "date; above it, Healthy women imaged when Sick women were look sicker to it "
        "(below it, those imaged outside that period), and its specificity on new women "
        "from that time will differ."
    )
    flagged = ci is not None and (ci[0] > 0.5 or ci[1] < 0.5)
    return f"<p class=bad>{text}</p>" if flagged else f"<p>{text}</p>"


def room_note(drift: dict | None) -> str:
    """The Healthy women's room drift of P(Sick), flagged when its interval excludes 0."""
    from thermocad.evaluation.periods import ROOM_DRIFT_UNMEASURED, room_drift_words

    if not drift:  # said, not left out
        return f"<p>{esc(ROOM_DRIFT_UNMEASURED)}.</p>"
    ci = finite_interval(drift.get("ci"))
    text = esc(room_drift_words(drift)) + (
        ". All of them are Healthy: 0 means the model does not follow the room; above it, "
        "women imaged in a warmer room look sicker to it (below, in a colder one), so a room "
        "that changed with the period can stand in for disease."
    )
    flagged = ci is not None and (ci[0] > 0 or ci[1] < 0)
    return f"<p class=bad>{text}</p>" if flagged else f"<p>{text}</p>"


def entry_ci(entry: dict, key: str, interval: str) -> str:
    """'0.912 (0.850-0.960)' from a by-period entry, n/a when undefined."""
    return fmt_ci(entry.get(key), finite_interval(entry.get(interval)))


def _rule(summary: dict) -> str:
    """How the nested folds chose the threshold, in words (an older nested.json may name its
    rule: threshold_method)."""
    from thermocad.evaluation.thresholds import rule_words

    return rule_words(summary.get("target_sensitivity"), summary.get("threshold_method"))


def nested_section(compare_dir: Path | None) -> str:
    """The outer estimate of nested cross-validation: THE result of the study when present."""
    summary = read_json(Path(compare_dir) / "nested" / "nested.json") if compare_dir else None
    if not summary:
        return section("nested", "<p class=bad>No nested cross-validation in this study (run "
                       "it with <code>--nested</code>): the comparison's figures below were used "
                       "to choose the model and are optimistic; only the final test, where there "
                       "is one, was held out.</p>", NO_NESTED)  # fmt: skip
    alone = summary.get("baseline_alone")  # the yardstick, by the same outer folds
    rows = [{"patients": name + who,
             "n (Sick)": "n/a" if e.get("n") is None else f"{e['n']} ({e['n_sick']})",
             "AUC (95% CI)": subset_auc(e),
             "sensitivity (95% CI)": entry_ci(e, "sensitivity", "sensitivity_ci"),
             "specificity (95% CI)": entry_ci(e, "specificity", "specificity_ci")}
            for metrics, who in [(summary["metrics"], "")] + [(alone, ": the baseline alone")] * bool(alone)
            for name, e in shown_subsets(metrics["subsets"]).items()]  # fmt: skip
    folds = pd.DataFrame([{"outer fold": f["outer_fold"], "chosen": f["chosen"],
                           "threshold": f["threshold"], "patients in the outer fold": f["test_patients"]}
                          for f in summary["folds"]])  # fmt: skip
    # Candidates as rows, outer folds as columns: long candidate names never widen the page.
    inner = pd.DataFrame({f"outer fold {f['outer_fold']}": f["inner_patient_auc"]
                          for f in summary["folds"]}).rename_axis("candidate")  # fmt: skip
    inner = inner.map(lambda v: "n/a" if pd.isna(v) else f"{v:.3f}").reset_index()  # 1.000, not 1
    body = (table(pd.DataFrame(rows)) + period_note(summary["metrics"])
            + f"<p>The estimate of the whole procedure on patients it never saw, among the split's "
            f"women outside any held-out test set (the test section scores those apart): {summary['outer_folds']} "
            f"patient-grouped outer folds; inside each outer training set, {summary['inner_folds']} "
            f"inner folds chose the candidate ({esc(', '.join(summary['candidates']))}) and the "
            f"decision threshold ({esc(_rule(summary))}) on their pooled "
            f"out-of-fold predictions, then the choice was refitted on the "
            f"whole outer training set and predicted the outer test fold. Selection rule: "
            f"{esc(summary['selection_rule'])}. The AUCs rank the outer folds' predictions "
            "together (each fold's model scored its own women); sensitivity and specificity are "
            "at each fold's own threshold; intervals: bootstrap over patients (AUC; BCa since "
            "2026-12-06), Wilson (proportions)."
            + (" The rows of <i>the baseline alone</i> put the classical baseline alone through "
               "the same outer folds, its threshold chosen on its own inner folds: the "
               "yardstick the result is read against." if alone else "") + "</p>"
            + "<h3>Choices per outer fold</h3>" + table(folds)
            + "<h3>Inner-fold patient AUC of each candidate</h3>" + table(inner))  # fmt: skip
    return section("nested", body)


def confound_block(cohort_csv: Path | None) -> str:
    """The confound audit: AUC of non-clinical quantities alone (the date among them), flagged."""
    from thermocad.evaluation.confounds import audit_notes, confound_audit

    if not cohort_csv or not Path(cohort_csv).exists():
        return '<p class="missing">confound audit: cohort.csv not available</p>'
    cohort = read_written(cohort_csv, "cohort file")
    audit = confound_audit(cohort)
    kept = cohort[as_text(cohort.get("excluded_reason", pd.Series("", index=cohort.index))) == ""]
    body = (f"<h3>Confound audit (the whole cohort: {kept['patient_id'].nunique()} patients)</h3>"
            "<p>How well each quantity alone separates Sick "
            "from Healthy (AUC of the better direction; 0.5 = no information), with a 95% "
            "bootstrap interval over the women (stratified by class) of the AUC in that same "
            "direction: an interval reaching below 0.5 means the women do not settle which way "
            "the quantity goes. None of them is "
            "disease; the acquisition date is used for this audit and the period-matched "
            "figures only, never as a model input. Flagged: an AUC of 0.7 or more whose "
            "Mann-Whitney p is below 0.05 over the number of AUCs in the table (Bonferroni), "
            "so that chance in a small cohort is not flagged.</p>" + table(audit_cells(audit)))  # fmt: skip
    return body + "".join(f"<p class=bad>Flag: {esc(n)}</p>" for n in audit_notes(audit))


def audit_cells(audit: pd.DataFrame) -> pd.DataFrame:
    """The audit as the report shows it: each AUC with its interval, or why it has none, in
    one cell; the flag column only when something is flagged."""
    from thermocad.evaluation.confounds import auc_columns

    shown = audit[["quantity", "patients with a value"]].copy()
    for key in auc_columns(audit):
        cells = []
        for _, r in audit.iterrows():
            why = r.get(f"no interval for {key}") or ""
            cells.append(fmt_ci(r[key], finite_interval(r.get(f"95% CI of {key}")))
                         + (f" (no interval: {why})" if why else ""))  # fmt: skip
        shown[key] = cells
    if audit["flag"].any():
        shown["flag"] = audit["flag"].map({True: "flagged", False: ""})
    return shown


def subgroup_section(test: dict | None, cohort_csv: Path | None = None) -> str:
    """The test's metrics within each acquisition batch, flagged, then the confound audit."""
    subs = (test or {}).get("subgroups")
    audit = confound_block(cohort_csv)
    if not subs:
        return section("subgroups", "<p>No subgroup column in the data.</p>" + audit)
    from thermocad.evaluation.metrics import Counts, proportion_ci

    body = ""
    one_image_each = all(m["n"] == m.get("n_patients") for m in subs["image"]["groups"].values())
    for level in ("patient",) if one_image_each else ("patient", "image"):  # else the same table
        s = subs[level]

        def rate(m: dict, name: str, women: bool = level == "patient") -> str:
            ci = proportion_ci(name, Counts(**m["counts"])) if women else None  # Wilson: women
            return fmt_ci(m[name], ci)  # (not images: a woman's images are correlated)

        rows = [{"group": g, "n (Sick)": f"{m['n']} ({m.get('n_sick', '?')})",
                 "patients": m.get("n_patients"),
                 "sensitivity": rate(m, "sensitivity"), "specificity": rate(m, "specificity"),
                 "ROC AUC": fmt_ci(m["roc_auc"])} for g, m in s["groups"].items()]  # fmt: skip
        column = s["column"].replace("_", " ")  # acquisition_batch: acquisition batch
        body += f"<h3>{level.title()} level, by {esc(column)}</h3>" + table(pd.DataFrame(rows))
        for note in s["notes"]:
            body += f"<p class=bad>Flag: {esc(note)}</p>"
    body += (
        "<p>A group holding a single class has no AUC: the grouping variable alone would "
        "separate it. The within-group figures of groups with both classes are the honest "
        "estimate when acquisition conditions differ between classes. Intervals: Wilson over "
        "women for the rates; the AUC of each batch with its bootstrap interval is in the "
        "test's table by batch and period.</p>"
    )
    return section("subgroups", body + audit)
