"""Which model an opening of the test set scored, and which women (evaluation/lockbox.py and
user_ledger.py count the distinct models scored on the same women).

A model is known by what it is when its model.json says so: the SHA-256 of its weights
(`weights_sha256`, which `train` records and an exported .onnx file carries in its copy of
model.json), its baseline entry (a CNN averaged with it is another model), its transform, and
the number of augmented views (TTA) each prediction averaged, with their augmentation. So the
same run scored on another set of files of the same women (fewer of them, a duplicate, another
file format), or through its ONNX export, or in another runtime whose P(Sick) differ in the
last decimals, is one model; TTA switched on or off, or a retrained model, is another.

A model whose model.json has no `weights_sha256` (one trained before it was recorded), or a
scoring that names no model (compare's baseline, an experiment's formula), is known by what it
predicts: its P(Sick) per file rounded to 4 decimals (`model_fingerprint`), as every entry was
before. Either print adds the threshold the calls were made at: the same model called at
another threshold is another opening (sensitivity and specificity were read again).

An entry printed by identity also keeps its print by scores (`score_model`): an older entry of
the same model on the same files, printed by scores, is read as that model (`aliases`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from thermocad.models.meta import DIGEST  # model.json's weights digest (no model code)

SCORE_MODEL = "score_model"  # an identity entry's print by scores


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _called(threshold: float | None) -> str:
    return "" if threshold is None else f"|threshold={float(threshold):.6f}"


def patients_fingerprint(pred: pd.DataFrame) -> str:
    """The test patients, whatever their order: a hash of their sorted ids."""
    return _digest(",".join(sorted(map(str, pd.unique(pred["patient_id"])))))


def model_fingerprint(pred: pd.DataFrame, threshold: float | None = None) -> str:
    """The model, as seen on these rows: a hash of P(Sick) per file rounded to 4 decimals, and
    of its threshold when given."""
    rows = sorted(zip(pred["path"].astype(str), pred["prob"].astype(float), strict=True))
    return _digest(";".join(f"{p}={v:.4f}" for p, v in rows) + _called(threshold))


def model_identity(meta: dict[str, Any] | None, views: int = 0) -> str | None:
    """The model as it is: a hash of its weights' digest, baseline entry, transform and the
    number of TTA `views` it was scored with (`bundle.views(tta)`; their augmentation with
    them); None when `meta` (a ModelBundle's or an OnnxModel's) records no weights digest."""
    meta = meta or {}
    weights = meta.get(DIGEST)
    if not isinstance(weights, str) or not weights:
        return None
    views = int(views)
    what = {"weights": weights, "baseline": meta.get("baseline"), "views": views,
            "transform": meta.get("transform"),
            "augmentation": meta.get("augmentation") if views else None}  # fmt: skip
    return _digest(json.dumps(what, sort_keys=True, separators=(",", ":"), default=str))


def identity_print(identity: str, threshold: float | None = None) -> str:
    """The ledger's print of a model known by `identity` (model_identity), called at
    `threshold`."""
    return _digest(f"identity={identity}" + _called(threshold))


def aliases(entries: list[dict], given: dict[str, str] | None = None) -> dict[str, str]:
    """Print by scores -> print by identity, from the entries printed by identity (and
    `given`, which wins): an older entry whose print is such a print by scores was the same
    model on the same files."""
    out = dict(given or {})
    for e in entries:
        if isinstance(e.get(SCORE_MODEL), str) and "model" in e:
            out.setdefault(e[SCORE_MODEL], e["model"])
    return out
