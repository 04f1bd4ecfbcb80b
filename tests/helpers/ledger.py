"""Tiny files of a few women and their predictions, for the ledgers of test openings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from thermocad.evaluation import lockbox as L


def women_files(folder: Path, patients, seed: str = "a") -> list[Path]:
    """One small text file per entry of `patients` (a woman may have several); `seed`: their
    bytes (another seed: other women, as the user ledger knows women by their files)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, pid in enumerate(patients):
        path = folder / f"IR_{pid:04d}_{i}.txt"
        path.write_text(f"{seed} {pid} {i}\n1 2\n3 4\n")
        paths.append(path)
    return paths


def predictions(paths, probs, patients) -> pd.DataFrame:
    return pd.DataFrame({"path": list(map(str, paths)), "patient_id": list(patients),
                         "prob": probs})  # fmt: skip


def split_ledger(folder: Path) -> Path:
    """The ledger beside a split file in `folder` (made)."""
    folder.mkdir(parents=True, exist_ok=True)
    return L.ledger_path(folder / "split.csv")
