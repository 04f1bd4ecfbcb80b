"""Writing synthetic thermograms: DMR-IR text matrices, DMR file names, preview sheets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

VIEW_CODES = {
    "frontal": "1.1",
    "right45": "1.2",
    "right90": "1.3",
    "left45": "1.4",
    "left90": "1.5",
}


def format_matrix(img: np.ndarray, fmt: str) -> bytes:
    """DMR-IR text: 'space' = 2 decimals separated by ' ', 'semicolon' = 5 decimals by ';'."""
    decimals, sep = (2, b" ") if fmt == "space" else (5, b";")
    # Fixed-width digits by integer arithmetic: 10.00 .. 99.99 C always has 2 integer digits.
    v = np.rint(np.clip(img, 10.0, 99.0) * 10**decimals).astype(np.int64)
    n = 3 + decimals
    out = np.empty(img.shape + (n + 1,), np.uint8)
    digits = [v // 10 ** (decimals + 1), v // 10**decimals % 10] + [
        v // 10 ** (decimals - 1 - i) % 10 for i in range(decimals)
    ]
    for i, j in enumerate([0, 1] + list(range(3, n))):
        out[..., j] = 48 + digits[i]
    out[..., 2] = ord(".")
    out[..., n] = sep[0]
    # Each row ends without a separator, with the CR CR LF of the original database files.
    body = out.reshape(img.shape[0], -1)[:, :-1]
    eol = np.frombuffer(b"\r\r\n", np.uint8)[None, :].repeat(img.shape[0], 0)
    return np.concatenate([body, eol], axis=1).tobytes()


def dmr_filename(pid: int, view: str, frame: int, frames: int, n_views: int, date: dt.date) -> str:
    """T0001.txt for one frontal frame, else the long DMR name with view code and frame index."""
    if frames == 1 and n_views == 1 and view == "frontal":
        return f"T{pid:04d}.txt"
    protocol = "D" if frames > 1 else "S"
    return f"T{pid:04d}.{VIEW_CODES[view]}.{protocol}.{date.isoformat()}.{frame:02d}.txt"


def write_preview(
    cohort_dir: str | Path, out_png: str | Path, n: int = 12, force: bool = False
) -> Path:
    """Contact sheet of the first `n` thermograms of a generated cohort, titled by label."""
    import pandas as pd

    from thermocad.files import check_writable
    from thermocad.render import contact_sheet
    from thermocad.thermal import read_thermal

    check_writable(out_png, force=force)
    cohort_dir = Path(cohort_dir)
    labels = pd.read_csv(cohort_dir / "labels.csv").set_index("patient_id")["diagnosis"]
    paths = sorted(cohort_dir.glob("T*.txt"))[:n]
    arrays = [read_thermal(p).array for p in paths]
    titles = [f"{p.name.split('.')[0]} {labels[int(p.name[1:5])]}" for p in paths]
    return Path(contact_sheet(arrays, titles, out_png))
