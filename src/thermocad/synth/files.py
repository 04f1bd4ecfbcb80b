"""Writing synthetic thermograms: DMR-IR text matrices, DMR file names, preview sheets."""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import numpy as np

# Beside every cohort `thermocad synth` finished: the hidden parameters, and the mark by which
# a model trained on it knows its women were synthetic.
TRUTH = "synth_truth.csv"

VIEW_CODES = {
    "frontal": "1.1",
    "right45": "1.2",
    "right90": "1.3",
    "left45": "1.4",
    "left90": "1.5",
}


def synthetic_share(paths) -> float:
    """The share of `paths` (thermal files) in folders `thermocad synth` wrote (0 for none)."""
    folders = [Path(p).parent for p in paths]
    made = {f: (f / TRUTH).is_file() for f in set(folders)}
    return sum(made[f] for f in folders) / len(folders) if folders else 0.0


@functools.lru_cache(maxsize=4)
def _tokens(n: int, template: str, split: int) -> np.ndarray:
    """Fixed-width ASCII tokens template.format(i // split, i % split) for i < n, one item each."""
    text = "".join(template.format(i // split, i % split) for i in range(n)).encode()
    width = len(text) // n
    return np.frombuffer(text, dtype=f"V{width}")


def format_matrix(img: np.ndarray, fmt: str) -> bytes:
    """DMR-IR text: 'space' = 2 decimals separated by ' ', 'semicolon' = 5 decimals by ';'."""
    rows = img.shape[0]
    clipped = np.clip(img, 10.0, 99.0)  # two integer digits keep every token the same width
    if fmt == "space":
        # One table lookup per value ("31.47 ") is ~10x faster than formatting numbers.
        v = np.rint(clipped * 100).astype(np.intp)
        body = _tokens(10000, "{0:02d}.{1:02d} ", 100)
        text = body[v].view(np.uint8).reshape(rows, -1)
    else:
        whole, frac = np.divmod(np.rint(clipped * 100000).astype(np.intp), 100000)
        out = np.empty(img.shape, dtype=[("w", "V3"), ("f", "V6")])
        out["w"] = _tokens(100, "{0:02d}.", 1)[whole]
        out["f"] = _tokens(100000, "{1:05d};", 100000)[frac]
        text = out.view(np.uint8).reshape(rows, -1)
    # Each row ends without a separator, with the CR CR LF of the original database files.
    eol = np.frombuffer(b"\r\r\n", np.uint8)[None, :].repeat(rows, 0)
    return np.concatenate([text[:, :-1], eol], axis=1).tobytes()


def synth_name(name: str) -> bool:
    """Whether a file name is one dmr_filename gives (T0002.txt, T0002.1FR.E.2012-01-02.00.txt),
    so that synth --force removes no other file (T0002.npy, someone's) from a folder it wrote."""
    return re.fullmatch(r"T\d{4,}(\..*)?\.txt", name) is not None


def dmr_filename(pid: int, view: str, frame: int, frames: int, n_views: int, date: dt.date) -> str:
    """T0001.txt for one frontal frame, else the long DMR name with view code and frame index."""
    if frames == 1 and n_views == 1 and view == "frontal":
        return f"T{pid:04d}.txt"
    protocol = "D" if frames > 1 else "S"
    return f"T{pid:04d}.{VIEW_CODES[view]}.{protocol}.{date.isoformat()}.{frame:02d}.txt"


def _tile(path: Path, labels, found: list[Path]) -> str:
    """A preview tile's title: "T0001 Sick", with the view and frame ("left45, frame 2")
    when the woman has several files."""
    from thermocad.io.filenames import name_view

    stem = path.name.split(".")[0]
    title = f"{stem} {labels[int(stem[1:])]}"
    if sum(p.name.split(".")[0] == stem for p in found) < 2 or not (name := name_view(path)):
        return title
    frame = f", frame {name.sequence}" if name.sequence is not None else ""
    return f"{title}\n{name.view}{frame}"


def write_preview(
    cohort_dir: str | Path, out_png: str | Path, n: int = 12, force: bool = False
) -> Path:
    """Contact sheet of the first `n` thermograms of a generated cohort, titled by label, and
    by view and frame where the cohort has several of a woman; the log says how many it shows."""
    import pandas as pd

    from thermocad.io.render import contact_sheet
    from thermocad.io.thermal import read_thermal
    from thermocad.utils.files import check_writable
    from thermocad.utils.progress import log

    check_writable(out_png, force=force)
    cohort_dir = Path(cohort_dir)
    labels = pd.read_csv(cohort_dir / "labels.csv").set_index("patient_id")["diagnosis"]
    found = sorted(cohort_dir.glob("T*.txt"))
    paths = found[:n]
    arrays = [read_thermal(p).array for p in paths]
    titles = [_tile(p, labels, found) for p in paths]
    sheet = Path(contact_sheet(arrays, titles, out_png, force=force))  # checked above
    which = f"the first {len(paths)} of {len(found)}" if len(found) > n else f"all {len(paths)}"
    log(f"preview of {which} thermograms (by file name): {sheet}")
    return sheet
