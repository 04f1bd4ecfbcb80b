"""How far does a model's P(Sick) move when the same women are imaged a little otherwise?

Each of the data folder's text thermograms is written again, one condition at a time, as a
clinic's acquisition would vary it: the camera's calibration offset (+-0.5, +2 C), a warmer
room behind her (+1 C on pixels below 28 C), sensor noise (sigma 0.05 and 0.2 C), the frame
shifted 20 px, tilted 3 degrees, or mirrored. Each copy keeps its file's own text format
(separator, decimals, line ends), so only the perturbation differs. `thermocad.predict` scores
every copy with the run's model; the table gives, per condition, how far P(Sick) moved (median,
90th percentile, largest, and its signed range), how far each half's moved (median), the calls
that flipped at the model's threshold, and how many files
got a note on their sharpness, skin or room (the notes that an acquisition can set off).

An inspection: nothing is chosen from it. With a run trained on these same women (`fit` on
the 120), it measures the model's stability, not its accuracy.

    .venv/bin/python experiments/acquisition_sensitivity.py RUN DATA   # ~25 min, 2 CPU cores
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

import thermocad
from thermocad.utils.tables import as_text, markdown_table

CONDITIONS = {
    "as found": lambda a, rng: a,
    "+0.5 C (calibration)": lambda a, rng: a + 0.5,
    "-0.5 C (calibration)": lambda a, rng: a - 0.5,
    "+2 C (calibration)": lambda a, rng: a + 2.0,
    "room +1 C (pixels < 28 C)": lambda a, rng: np.where(a < 28.0, a + 1.0, a),
    "noise sigma 0.05 C": lambda a, rng: a + rng.normal(0, 0.05, a.shape),
    "noise sigma 0.2 C": lambda a, rng: a + rng.normal(0, 0.2, a.shape),
    "shifted 20 px left": lambda a, rng: ndi.shift(a, (0, -20), order=0, mode="nearest"),
    "shifted 20 px down": lambda a, rng: ndi.shift(a, (20, 0), order=0, mode="nearest"),
    "tilted +3 degrees": lambda a, rng: ndi.rotate(a, 3, reshape=False, mode="nearest"),
    "tilted -3 degrees": lambda a, rng: ndi.rotate(a, -3, reshape=False, mode="nearest"),
    "mirrored left-right": lambda a, rng: a[:, ::-1],
}
NOTES = {"less sharp": "image is less sharp", "noisier": "image is sharper or noisier",
         "skin": r"(?:^|; )skin \d", "room": r"(?:^|; )room \d"}  # fmt: skip


def read_text(path: Path) -> tuple[np.ndarray, str, int, bytes]:
    """A DMR text matrix and how it is written: separator, decimals, line end."""
    data = path.read_bytes()
    first = data.split(b"\n", 1)[0]
    end = b"\r\r\n" if first.endswith(b"\r\r") else b"\r\n" if first.endswith(b"\r") else b"\n"
    sep = ";" if b";" in first else " "
    decimals = len(first.rstrip(b"\r").split(sep.encode())[1].split(b".")[1])
    rows = [r for r in data.replace(b"\r", b"").split(b"\n") if r.strip()]
    return np.array([r.split(sep.encode()) for r in rows], float), sep, decimals, end


def write_text(path: Path, array: np.ndarray, sep: str, decimals: int, end: bytes) -> None:
    lines = (sep.join(f"{v:.{decimals}f}" for v in row) for row in array)
    path.write_bytes(end.join(line.encode() for line in lines) + end)


def scored(run: str, files: list[Path], condition: str, work: Path):
    """predict's table for the files written again under `condition` (seeded per woman)."""
    folder = work / "copies"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for path in files:
        array, sep, decimals, end = read_text(path)
        rng = np.random.default_rng(int(path.stem[1:]))
        write_text(folder / path.name, CONDITIONS[condition](array, rng), sep, decimals, end)
    table = thermocad.predict(run, folder)
    table["name"] = table["file"].map(lambda f: Path(f).name)
    return table.set_index("name").sort_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="a run folder (e.g. `thermocad fit`'s on the 120)")
    parser.add_argument("data", help="folder of DMR-IR text thermograms (T####.txt)")
    args = parser.parse_args()
    files = sorted(Path(args.data).glob("T*.txt"))
    threshold = thermocad.load_model(args.run).threshold
    rows = []
    with tempfile.TemporaryDirectory() as work:
        base = scored(args.run, files, "as found", Path(work))
        for condition in CONDITIONS:
            table = (
                base if condition == "as found" else scored(args.run, files, condition, Path(work))
            )
            change = table["prob_sick"] - base["prob_sick"]
            moved = change.abs()
            halves = {h: (table[f"prob_{h}"] - base[f"prob_{h}"]).abs().median()
                      for h in ("cnn", "baseline") if f"prob_{h}" in table}  # fmt: skip
            sick, was = table["decision"] == "Sick", base["decision"] == "Sick"
            notes = as_text(table["note"])
            noted = {k: int(notes.str.contains(w).sum()) for k, w in NOTES.items()}
            rows.append({"condition": condition, "median |dP|": f"{moved.median():.3f}",
                         "p90 |dP|": f"{moved.quantile(0.9):.3f}", "max |dP|": f"{moved.max():.3f}",
                         "dP range": f"{change.min():+.3f} to {change.max():+.3f}",
                         **{f"median |dP| {h}": f"{v:.3f}" for h, v in halves.items()},
                         "flips H->S / S->H": f"{int((sick & ~was).sum())} / {int((~sick & was).sum())}",
                         **{f"{k} note": v for k, v in noted.items()}})  # fmt: skip
            print(f"{condition}: done", flush=True)
    print(f"\n{len(files)} women, threshold {threshold:.4f}\n")
    print(markdown_table(list(rows[0]), [list(r.values()) for r in rows]))


if __name__ == "__main__":
    main()
