"""The report's first lines: the result, and which model it is about, before any section."""

from __future__ import annotations

from thermocad.evaluation.metrics import proportion_intervals
from thermocad.reporting.html import esc
from thermocad.utils.tables import fmt_ci


def _ci(entry: dict, key: str, interval: str) -> str:
    ci = entry.get(interval)
    return fmt_ci(entry.get(key), tuple(ci) if ci else None)


def at_a_glance(nested: dict | None, test: dict | None, chosen: str | None) -> str:
    """HTML: the nested estimate of the procedure (the result), then the model it chose and
    its one scoring on the held-out test women; each says which women it counts."""
    items = []
    if nested:
        subsets = nested["metrics"]["subsets"]
        o, pm = subsets["overall"], subsets.get("period-matched") or {}
        period = ("period-matched n/a (no dates)" if pm.get("n") is None else
                  f"period-matched {_ci(pm, 'roc_auc', 'ci')} (n={pm['n']})")  # fmt: skip
        items.append(
            f"<li><b>Result</b>: the whole procedure (choosing among "
            f"{len(nested['candidates'])} candidates and a threshold on inner folds), estimated "
            f"by nested cross-validation on {o['n']} women ({o['n_sick']} Sick) that none of its "
            f"choices saw: patient AUC {_ci(o, 'roc_auc', 'ci')}, sensitivity "
            f"{_ci(o, 'sensitivity', 'sensitivity_ci')}, specificity "
            f"{_ci(o, 'specificity', 'specificity_ci')}; {period}. It describes the procedure, "
            "not one model file.</li>"
        )
    else:
        items.append("<li><b>No nested cross-validation</b>: the comparison's figures chose the "
                     "model and are optimistic; only a held-out test set is unseen.</li>")  # fmt: skip
    if test:
        p = test["patient"]
        wilson = proportion_intervals(p)
        auc_ci = (p.get("bootstrap_ci") or {}).get("roc_auc")
        items.append(
            f"<li><b>Selected model</b>: {esc(test.get('model') or chosen or '?')}, chosen on "
            f"validation folds and scored once on {p['n']} held-out test women ({p['n_sick']} "
            f"Sick): patient AUC {fmt_ci(p.get('roc_auc'), auc_ci)}, sensitivity "
            f"{fmt_ci(p.get('sensitivity'), wilson.get('sensitivity'))}, specificity "
            f"{fmt_ci(p.get('specificity'), wilson.get('specificity'))} at threshold "
            f"{test['threshold']:.3f}.{_reused(test.get('lockbox'))}</li>"
        )
    elif chosen:
        items.append(f"<li><b>Selected model</b>: {esc(chosen)}, chosen on validation folds; "
                     "no held-out test set scored it.</li>")  # fmt: skip
    return '<ul class="summary">' + "".join(items) + "</ul>"


def _reused(box: dict | None) -> str:
    """'' or a sentence when other models have been scored on the same test women since (the
    ledger, counted again now): the figures are then no unseen-women estimate."""
    from thermocad.evaluation.lockbox import refreshed

    box = refreshed(box) if box else {}
    if box.get("models", 1) <= 1:
        return ""
    return (
        f" {box['models']} different models have now been scored on these women (the test "
        "section): a choice among them made there is not an unseen-women estimate."
    )
