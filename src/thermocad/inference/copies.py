"""predict's note on files that hold one frame: a copy under another patient number (one
woman under two numbers, or a file misnamed), or under hers with another name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

SCORES = ("prob_sick", "prob_cnn", "prob_baseline")


def note_same_frames(table: pd.DataFrame) -> int:
    """Note (in place, in the `note` column) each file whose frame, byte for byte or saved
    again, another file of the table holds, naming that file; returns how many were noted.
    A hazard review: a misfiled copy scored under two women's numbers went without a word.
    Only files scored alike to the sixth decimal are read again, to compare their frames."""
    from thermocad.io.digest import file_digest, file_frame_digest

    scores = [c for c in SCORES if c in table]  # a CNN alone: its halves' cells are empty
    text = table[scores].map(lambda v: "" if v is None or v != v else repr(v))
    alike = text.agg("|".join, axis=1).duplicated(keep=False)
    if not alike.any():
        return 0
    files = table.loc[alike, "file"].astype(str)
    digests = files.map(lambda p: file_frame_digest(p) or file_digest(p)).dropna()
    noted = 0
    for _, group in digests.groupby(digests):
        for i in group.index if len(group) > 1 else ():
            other = next(j for j in group.index if j != i)
            table.at[i, "note"] = "; ".join(
                filter(None, [table.at[i, "note"], _note(table, i, other)])
            )
            noted += 1
    return noted


def _note(table: pd.DataFrame, i, other) -> str:
    import pandas as pd

    from thermocad.inference.tables import copy_name

    name = Path(str(table.at[other, "file"])).name
    mine, theirs = table.at[i, "patient_id"], table.at[other, "patient_id"]
    if pd.notna(mine) and pd.notna(theirs) and mine == theirs:
        stem = {copy_name(table.at[j, "file"]) for j in (i, other)}
        counted = ("counted once in her mean" if len(stem) == 1  # as tables.patient_table
                   else "counted as another of her files")  # fmt: skip
        return f"the same frame as {name}, byte for byte or saved again: a copy, {counted}"
    whose = f"patient {theirs}" if pd.notna(theirs) else "no patient number"
    why = (
        "one woman under two numbers, or a file misnamed?"
        if pd.notna(mine) and pd.notna(theirs)
        else "a copy under another name?"
    )  # one of the two names gives no number
    return f"the same frame as {name} ({whose}), byte for byte or saved again: {why}"
