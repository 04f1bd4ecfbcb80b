"""The report's first lines: the result, and which model it is about, before any section."""

from __future__ import annotations

from thermocad.evaluation.metrics import proportion_intervals
from thermocad.reporting.html import esc, keep_intervals, scrolls
from thermocad.utils.tables import fmt_ci

HEADER = ("estimate", "{who} (Sick)", "patient AUC (95% CI)", "period-matched AUC (95% CI)",
          "sensitivity (95% CI)", "specificity (95% CI)", "threshold")  # fmt: skip


def _ci(entry: dict, key: str, interval: str) -> str:
    ci = entry.get(interval)
    return fmt_ci(entry.get(key), tuple(ci) if ci else None)


def at_a_glance(nested: dict | None, test: dict | None, chosen: str | None,
                who: str = "women") -> str:  # fmt: skip
    """HTML: one table, before any section: the nested estimate of the procedure (the result),
    then the model it chose and its one scoring on the held-out test set, each row saying
    whom it counts (`who`: "women", or "synthetic patients"), with the lines it needs under
    it."""
    rows, notes, caution, dated = [], [], "", False
    if nested:
        subsets = nested["metrics"]["subsets"]
        o, pm = subsets["overall"], subsets.get("period-matched") or {}
        period, caution = _period(pm, "n/a (no dates)", "the procedure")
        dated = pm.get("n") is not None
        rows.append((f"<b>Result</b>: the whole procedure (choosing among "
                     f"{_candidates(nested)} and a threshold on inner folds), "
                     "nested cross-validation", f"{o['n']} ({o['n_sick']}), none seen by its "
                     "choices", _ci(o, "roc_auc", "ci"), period,
                     _ci(o, "sensitivity", "sensitivity_ci"),
                     _ci(o, "specificity", "specificity_ci"), "chosen on inner folds"))  # fmt: skip
        rows += _yardstick(nested.get("baseline_alone"))
        notes.append("The result describes the procedure, not one model file.")
    else:
        notes.append("<b>No nested cross-validation</b>: the comparison's figures chose the "
                     "model and are optimistic; only a held-out test set is unseen.")  # fmt: skip
    if test:
        from thermocad.reporting.periods import subset_auc

        p, pm = test["patient"], ((test.get("by_period") or {}).get("subsets") or {})
        pm = pm.get("period-matched") or {}
        period, unshown = _period(pm, "n/a", "the selected model")
        caution = caution if nested else unshown  # the result's, when there is one
        dated = dated or pm.get("n") is not None
        wilson = proportion_intervals(p)
        auc_ci = (p.get("bootstrap_ci") or {}).get("roc_auc")
        rows.append((f"<b>Selected model</b>: {esc(test.get('model') or chosen or '?')}, chosen "
                     "on validation folds, scored once on the held-out test set",
                     f"{p['n']} ({p['n_sick']}), held out",
                     subset_auc({"roc_auc": p.get("roc_auc"), "ci": auc_ci, "n": p["n"],
                                 "n_sick": p["n_sick"]}).replace(" women)", f" {who})"),  # fmt: skip
                     period, fmt_ci(p.get("sensitivity"), wilson.get("sensitivity")),
                     fmt_ci(p.get("specificity"), wilson.get("specificity")),
                     f"{test['threshold']:.3f}"))  # fmt: skip
        if reused := _reused(test.get("lockbox"), who):
            notes.append(reused)
    elif chosen:
        notes.append(f"<b>Selected model</b>: {esc(chosen)}, chosen on validation folds; no "
                     "held-out test set scored it.")  # fmt: skip
    if dated:  # the date: what the first AUC column owes to it, read in the second
        notes.append(DATE_NOTE.format(who=who) + caution)
    head = "".join(f'<th scope="col">{esc(h.format(who=who))}</th>' for h in HEADER)
    # Each row's first cell names it (its header for a screen reader), the rest its figures.
    body = "".join(f'<tr><th scope="row">{row[0]}</th>' + "".join(f"<td>{c}</td>" for c in row[1:])
                   + "</tr>" for row in rows)  # fmt: skip
    table = (
        keep_intervals(scrolls(f'<table class="t"><tr>{head}</tr>{body}</table>')) if rows else ""
    )
    return (
        f'<div class="summary" id="glance"><h2>Result at a glance</h2>{table}'
        + "".join(f"<p>{n}</p>" for n in notes)
        + "</div>"
    )


def _yardstick(alone: dict | None) -> list[tuple]:
    """The baseline alone through the same outer folds (nested.json's `baseline_alone`), as a
    row under the result: what the procedure's figures are read against."""
    if not alone:
        return []
    o, pm = alone["subsets"]["overall"], alone["subsets"].get("period-matched") or {}
    return [("<i>Yardstick</i>: the classical baseline alone, through the same outer folds",
             f"{o['n']} ({o['n_sick']})", _ci(o, "roc_auc", "ci"),
             _period(pm, "n/a (no dates)", "the baseline")[0],
             _ci(o, "sensitivity", "sensitivity_ci"), _ci(o, "specificity", "specificity_ci"),
             "chosen on inner folds")]  # fmt: skip


DATE_NOTE = (
    "Read the period-matched column first: the acquisition date (batch, room, season) can "
    "separate the classes by itself, and does least among the {who} of a batch imaged in the "
    "dates both classes share (the subgroups section)."
)


def _period(entry: dict, missing: str, what: str) -> tuple[str, str]:
    """The period-matched cell (AUC, its interval or why none, n and Sick), and '' or a
    sentence when its interval reaches 0.5 (or it has none): the model is then not shown to
    tell the classes apart where the date cannot."""
    from thermocad.reporting.periods import subset_auc

    if entry.get("n") is None:
        return missing, ""
    cell = f"{subset_auc(entry)}, n={entry['n']} ({entry.get('n_sick', '?')} Sick)"
    ci, auc = entry.get("ci") or [None], entry.get("roc_auc")
    if auc is None or (ci[0] is not None and ci[0] > 0.5):
        return esc(cell), ""
    return esc(cell), (f" <b>Among the period-matched women {what} is not shown to "
                       f"tell Sick from Healthy</b> (AUC {auc:.3f}, {entry['n']} women"
                       + ("" if ci[0] is not None else ", no interval") + "): its other "
                       "figures may owe much to the date.")  # fmt: skip


def _candidates(nested: dict) -> str:
    """'3 candidates', or '1 of 3 candidates (the others failed in every fold)': only those
    that gave inner predictions in some outer fold were chosen among."""
    ran = {name for fold in nested.get("folds", []) for name in fold.get("inner_patient_auc") or {}}
    listed = len(nested["candidates"])
    if not nested.get("folds") or len(ran) == listed:
        return f"{listed} candidates"
    return f"{len(ran)} of {listed} candidates (the others failed in every fold)"


def _reused(box: dict | None, who: str = "women") -> str:
    """'' or a sentence when other models have been scored on the same test women since (the
    ledger, counted again now): the figures are then no unseen-women estimate."""
    from thermocad.evaluation.lockbox import refreshed

    box = refreshed(box) if box else {}
    if box.get("models", 1) <= 1:
        return ""
    return (
        f"{box['models']} different models have now been scored on these {who} (the test "
        "section): a choice among them made there is not an unseen-women estimate."
    )
