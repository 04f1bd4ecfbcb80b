"""Warnings on how the kept files were written: two files of one name, grey images exported two
ways. prepare's summary says them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from thermocad.io.find import case_twins_warning, same_names_warning


def kept_notes(kept: pd.DataFrame) -> list[str]:
    """The warnings on the kept rows of a cohort table (none: an empty list)."""
    paths = [Path(p) for p in kept["path"]]
    notes = (same_names_warning(paths), case_twins_warning(paths), grey_exports_note(kept))
    return [n for n in notes if n]


def grey_exports_note(kept: pd.DataFrame) -> str:
    """'' or a warning when kept 8/16-bit images look exported two ways: some span the whole
    grey range (each scaled to its own coldest and warmest pixel), others do not (one fixed
    window for all). Their grey levels then mean different temperatures, and the baseline's
    statistics of them most of all (a grey-image review)."""
    if "unit" not in kept or "t_min" not in kept:
        return ""
    from thermocad.preprocess.plausible import spans_grey_range

    grey = kept[kept["unit"].astype(str) == "intensity"]
    full = spans_grey_range(pd.to_numeric(grey["t_min"]), pd.to_numeric(grey["t_max"]))
    if len(grey) < 2 or full.all() or not full.any():
        return ""
    return (f"warning: {int(full.sum()):,} of {len(grey):,} kept grey images span the whole grey "
            f"range (each scaled to its own coldest and warmest pixel) and {int((~full).sum()):,} "
            f"do not (e.g. {Path(str(grey.loc[~full, 'path'].iloc[0])).name}: one fixed window "
            "for all?): two exports, whose grey levels mean different temperatures; export "
            "every image the same way (docs/application.md, 'Grey images')")  # fmt: skip
