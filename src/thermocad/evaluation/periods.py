"""Acquisition batch and period: the subsets where the date and the batch cannot tell the classes apart.

In DMR-IR the classes were imaged in different batches and years, so overall AUCs reward
anything that drifts with time. Each metric table therefore also reports, per batch holding
both classes, the AUC within it, and the AUC on the period-matched women: those of a batch
acquired inside the date range where both classes occur in that batch. The range is the
cohort's: `make_split` marks each woman once (split.csv's `period_matched`), so that a fold, a
test set or a nested table holds the same women's subset, not a range of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from thermocad.evaluation.intervals import percentile_interval
from thermocad.io.labels import with_y
from thermocad.utils.tables import as_text

BATCH, DATE = "acquisition_batch", "acquisition_date"
PERIOD = "period_matched"  # split.csv: inside its batch's shared range, over the whole cohort
ROOM = "room_median"  # cohort.csv: the background's median, the room as the camera sees it
MIN_ROOM_WOMEN = 10  # fewer Healthy women with a room temperature: no room drift reported
ROOM_DRIFT_UNMEASURED = (f"Room drift: not measured (fewer than {MIN_ROOM_WOMEN} Healthy women "
                         "with a room temperature, which 8/16-bit images never give, or P(Sick) "
                         "or the room alike for all of them)")  # fmt: skip


def sick(df: pd.DataFrame) -> pd.Series:
    """1 = Sick, from `y` or else `label`."""
    return with_y(df)["y"]


NO_BATCH = "?"  # a row without a batch where others have one: in no batch's subset


def batch_values(df: pd.DataFrame) -> pd.Series:
    """The batch of each row as text; one batch ("all") when the table names none, and
    NO_BATCH for a row without one where others have one (it belongs to no batch)."""
    if BATCH not in df.columns:
        return pd.Series("all", index=df.index)
    text = as_text(df[BATCH]).str.strip()
    if not text.ne("").any():
        return pd.Series("all", index=df.index)
    return text.replace("", NO_BATCH)


def dates(df: pd.DataFrame) -> pd.Series:
    """Acquisition dates as timestamps (NaT where missing or when there is no date column)."""
    if DATE not in df.columns:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    text = df[DATE].astype("string").str.slice(0, 10)
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def dated_women(rows: pd.DataFrame) -> dict[str, int]:
    """How many of the scored women have an acquisition date (labels or file name): only
    they can be period-matched, and the date audit reads only theirs."""
    dated = dates(rows).notna().groupby(rows["patient_id"].astype(str)).any()
    return {"patients": int(len(dated)), "dated": int(dated.sum())}


def dates_available(df: pd.DataFrame) -> bool:
    """True when at least one row has an acquisition date."""
    return bool(dates(df).notna().any())


def period_matched(df: pd.DataFrame, own_range: bool = False) -> pd.Series:
    """Rows of a batch acquired inside the date range where both classes occur in that batch.

    Per batch: [latest of the classes' first dates, earliest of their last dates]; a batch
    with one class contributes nobody, nor do rows without a date. Without any date the mask
    is all False and `mask.attrs["available"]` is False: report the subset as n/a. A table
    with the column `period_matched` (rows of a split: the cohort's ranges) is read as it is,
    unless `own_range`. A woman counts by her first date, so all her images are in or out.
    """
    when, y, batch = dates(df), sick(df), batch_values(df)
    if "patient_id" in df.columns:
        when = when.groupby(df["patient_id"]).transform("min").reindex(df.index)
    if PERIOD in df.columns and not own_range:
        mask = df[PERIOD].astype(str).str.lower().isin(["true", "1", "1.0"])  # bool, or text
        mask.attrs["available"] = bool(when.notna().any())
        return mask.rename(PERIOD)
    mask = pd.Series(False, index=df.index, name=PERIOD)
    for value in batch.unique():
        if value == NO_BATCH:
            continue
        inside = batch == value
        first = when[inside].groupby(y[inside]).min()
        last = when[inside].groupby(y[inside]).max()
        if first.notna().sum() < 2:  # one class dated (or none): no shared period
            continue
        start, end = first.max(), last.min()
        mask |= inside & (when >= start) & (when <= end)
    mask.attrs["available"] = bool(when.notna().any())
    return mask


def first_dates(df: pd.DataFrame) -> pd.Series:
    """Each woman's first acquisition date (ISO text, NaN where she has none), by patient_id:
    the date a per-woman table carries, as `period_matched` dates her."""
    when = dates(df).groupby(df["patient_id"]).min()
    return when.dt.strftime("%Y-%m-%d")


def per_woman(df: pd.DataFrame, column: str) -> pd.Series:
    """A column of an image table, one value per woman (by patient_id): her first date for the
    acquisition date, her first row's value for the rest."""
    return first_dates(df) if column == DATE else df.groupby("patient_id")[column].first()


def period_range(df: pd.DataFrame, batch: str) -> tuple[str, str] | None:
    """The first and last date (ISO, of the women's first dates) of the table's period-matched
    women of a batch, or None when it has none. On a split's table these are the dates of its
    own women inside the shared period, which the whole cohort defines (split.csv's
    period_matched), so they can lie inside that period's ends."""
    rows = df[period_matched(df) & (batch_values(df) == batch)]
    if rows.empty:
        return None
    when = dates(rows)
    if "patient_id" in rows.columns:
        when = when.groupby(rows["patient_id"]).min()
    return when.min().date().isoformat(), when.max().date().isoformat()


def two_class_batches(df: pd.DataFrame) -> list[str]:
    """Batches holding both classes, the most common first (ties: by name)."""
    y, batch = sick(df), batch_values(df)
    both = [b for b in batch.unique() if b != NO_BATCH and y[batch == b].nunique() == 2]
    counts = batch.value_counts()
    return sorted(both, key=lambda b: (-counts[b], b))


def subsets(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean row masks: "overall", "batch <value>" per two-class batch, "period-matched"."""
    batch = batch_values(df)
    out = {"overall": np.ones(len(df), bool)}
    for value in two_class_batches(df):
        out[f"batch {value}"] = (batch == value).to_numpy()
    out["period-matched"] = period_matched(df).to_numpy()
    return out


def shown_subsets(subsets: dict) -> dict:
    """The subsets a table shows: a batch that holds every woman is the overall row again, so
    it is named there ("overall (all batch A)") instead of repeated."""
    overall = subsets.get("overall") or {}
    out = dict(subsets)
    for name, entry in subsets.items():
        same = (entry.get("n"), entry.get("n_sick")) == (overall.get("n"), overall.get("n_sick"))
        if name.startswith("batch ") and same and overall.get("n") is not None:
            named = "overall" if name == "batch all" else f"overall (all {name})"  # no batches
            out = {(named if k == "overall" else k): v for k, v in out.items() if k != name}
    return out


def healthy_outside_inside(df: pd.DataFrame, batch: str) -> tuple[pd.Series, pd.Series] | None:
    """Masks of the batch's Healthy women imaged outside / inside its shared period, or None
    when the batch has no shared period or either group is empty."""
    when, healthy = dates(df), (sick(df) == 0) & (batch_values(df) == batch)
    inside = period_matched(df) & healthy
    outside = healthy & when.notna() & ~inside
    if not inside.any() or not outside.any():
        return None
    return outside, inside


def healthy_date_drift(df: pd.DataFrame, batch: str | None, n_boot: int = 1000,
                       seed: int = 0) -> dict | None:  # fmt: skip
    """How well P(Sick) tells apart the batch's Healthy women imaged inside the shared period
    from those imaged outside it: patient-level AUC (inside = positive), bootstrap interval.

    Every one of them is Healthy, so 0.5 means P(Sick) does not follow the acquisition date;
    above 0.5, the women imaged when Sick women were also imaged look sicker to the model:
    it has learned something that drifts with time (room, season, camera), and its
    specificity on new women from that time will be lower. None without a shared period."""
    from thermocad.evaluation.bootstrap import bootstrap_ci
    from thermocad.evaluation.metrics import roc_auc

    groups = healthy_outside_inside(df, batch) if batch is not None else None
    if groups is None:
        return None
    outside, inside = groups
    part = df[outside | inside].assign(y=inside[outside | inside].astype(int))
    ci = bootstrap_ci(part, 0.5, n_boot, seed, scores=False)["roc_auc"] if n_boot else None
    return {"batch": batch, "roc_auc": roc_auc(part["y"], part["prob"]), "ci": ci,
            "n_inside": int(inside.sum()), "n_outside": int(outside.sum())}  # fmt: skip


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho (pandas'); NaN when either side is constant."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(pd.Series(a).corr(pd.Series(b), method="spearman"))


def healthy_room_drift(df: pd.DataFrame, batch: str | None, n_boot: int = 1000,
                       seed: int = 0) -> dict | None:  # fmt: skip
    """How closely P(Sick) follows the room temperature among the batch's Healthy women:
    Spearman's rho of `prob` with `room_median`, bootstrap interval over the women.

    Every one of them is Healthy, so 0 means P(Sick) does not follow the room; above 0, the
    women imaged in a warmer room look sicker to the model (below 0, in a colder one). Needs
    no dates: the room is read from each image's background by `prepare`. None without the
    column or with fewer than MIN_ROOM_WOMEN Healthy women who have a value."""
    if ROOM not in df.columns:
        return None
    healthy = sick(df) == 0
    if batch is not None:
        healthy &= batch_values(df) == batch
    part = df.loc[healthy, ["prob", ROOM]].apply(pd.to_numeric, errors="coerce").dropna()
    if len(part) < MIN_ROOM_WOMEN:
        return None
    prob, room = part["prob"].to_numpy(), part[ROOM].to_numpy()
    rho = _spearman(prob, room)
    if not np.isfinite(rho):
        return None
    ci, undefined = None, 0
    if n_boot:  # none, as every interval, where rho is undefined in over 5% of the draws
        draws = np.random.default_rng(seed).integers(0, len(part), (n_boot, len(part)))
        boots = np.array([_spearman(prob[i], room[i]) for i in draws])  # (one room or P(Sick))
        (low, high), undefined = percentile_interval(boots)
        ci = None if np.isnan(low) else [low, high]
    return {"batch": batch, "rho": rho, "ci": ci, "n": int(len(part)),
            "ci_undefined": f"{undefined} of {n_boot}" if ci is None and undefined else None}  # fmt: skip


def room_drift_words(drift: dict) -> str:
    """The room drift in one sentence, its claim as strong as its interval: "Room drift: among
    the 44 Healthy women of batch A, Spearman's rho of P(Sick) with the room temperature (the
    background's median) is 0.16 (-0.15 to 0.45): inconclusive, the interval holds 0 and
    drifts as large as 0.45" (with few women even DMR-IR's 0.32 often reads so)."""
    from thermocad.utils.tables import finite_interval, fmt_ci

    ci = finite_interval(drift.get("ci"))
    where = f" of batch {drift['batch']}" if drift.get("batch") not in (None, "all") else ""
    if ci and ci[0] > 0:
        verdict = "P(Sick) rises with the room"
    elif ci and ci[1] < 0:
        verdict = "P(Sick) falls as the room warms"
    elif ci:
        verdict = (
            f"inconclusive, the interval holds 0 and drifts as large as "
            f"{max(abs(ci[0]), abs(ci[1])):.2f}"
        )
    else:
        why = drift.get("ci_undefined")  # rho undefined in too many resamples
        verdict = f"no interval (rho undefined in {why} resamples)" if why else "no interval"
    return (f"Room drift: among the {drift['n']} Healthy women{where}, Spearman's rho of P(Sick) "
            f"with the room temperature (the background's median) is "
            f"{fmt_ci(drift['rho'], ci, digits=2)}: {verdict}")  # fmt: skip


def subgroup_metrics(df: pd.DataFrame, column: str, threshold: float, gap: float = 0.1) -> dict:
    """Metrics within each value of `column`, with a flag when groups disagree or are one-class.

    A group holding a single class gets sensitivity or specificity only (AUC is undefined);
    such a group means the column itself predicts the label, the shortcut this audit looks for.
    """
    from thermocad.evaluation import metrics as M

    if column not in df.columns:
        raise KeyError(f"subgroup column {column!r} not in predictions ({list(df.columns)})")
    overall_auc = M.roc_auc(df["y"], df["prob"])
    groups, notes = {}, []
    for value, part in df.groupby(as_text(df[column], "missing"), sort=True):
        m = M.classification_metrics(part["y"], part["prob"], threshold)
        m["n_patients"] = int(part["patient_id"].nunique())
        m["classes"] = sorted({int(v) for v in part["y"]})
        if len(m["classes"]) == 1:
            kind = "Sick" if m["classes"] == [1] else "Healthy"
            notes.append(f"{column}={value} holds only {kind} cases: AUC undefined, the "
                         "column alone separates them (possible shortcut)")  # fmt: skip
        elif np.isfinite(overall_auc) and abs(m["roc_auc"] - overall_auc) > gap:
            notes.append(f"{column}={value}: AUC {m['roc_auc']:.3f} vs {overall_auc:.3f} overall "
                         f"(on {m['n_sick']} Sick and {m['n'] - m['n_sick']} Healthy)")  # fmt: skip
        groups[str(value)] = m
    return {
        "column": column,
        "groups": groups,
        "flag": bool(notes),
        "notes": notes,
        "overall_roc_auc": overall_auc,
    }


def period_columns(periods: dict) -> dict:
    """Flat table columns of `by_period`: the primary batch's and the period-matched AUC,
    interval and n (NaN when undefined; the report shows n/a)."""
    nan = float("nan")
    batch = periods.get("primary_batch")
    subsets = periods.get("subsets", {})
    row = {"batch": batch if batch is not None else ""}
    for prefix, key in (("batch", f"batch {batch}"), ("period", "period-matched")):
        entry = subsets.get(key) or {}
        lo, hi = entry.get("ci") or (nan, nan)
        auc = entry.get("roc_auc")
        row.update({f"{prefix}_roc_auc": nan if auc is None else auc, f"{prefix}_roc_auc_lo": lo,
                    f"{prefix}_roc_auc_hi": hi, f"{prefix}_n": entry.get("n")})  # fmt: skip
    return row
