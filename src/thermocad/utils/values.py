"""Option values checked where they enter (Python or the CLI), each refusal naming the option
both ways: `--folds (folds in Python) must be a whole number, at least 2, got 2.5`; and values
made JSON-safe (`clean_json`) for the files thermocad writes."""

from __future__ import annotations

import json
import math
from typing import Any

from thermocad.utils.errors import ConfigError


def is_number(value: Any) -> bool:
    """A finite int or float (numpy's too), not a bool (True would read as 1)."""
    import numpy as np

    return (isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool | np.bool_) and math.isfinite(value))  # fmt: skip


def is_whole(value: Any) -> bool:
    """An int (numpy's too), not a bool: 2.0 is not taken for 2, as a count or a seed."""
    import numpy as np

    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def check_value(ok: bool, name: str, need: str, value: Any, flag: str | None = None) -> None:
    """Refuse `value` of the option `name` unless `ok`; `flag`: its command-line name (default
    --name with dashes), said first as the CLI's users read it; "": a Python-only option."""
    if not ok:
        flag = ("--" + name.replace("_", "-")) if flag is None else flag
        said = f"{flag} ({name} in Python)" if flag else name
        raise ConfigError(f"{said} must be {need}, got {value!r}")


def check_tta(tta: Any) -> None:
    """Test-time augmentation: True, False or None (the model's own), never 'yes' or 3."""
    check_value(tta is None or isinstance(tta, bool), "tta", "True, False or None (the model's own)",
                tta, flag="--tta/--no-tta")  # fmt: skip


def check_flags(**flags: Any) -> None:
    """Yes/no keywords: True or False (numpy's too), never "False" or "no", which Python takes
    for True (a notebook's `force="False"` had replaced a cohort.csv). Each named as its flag."""
    import numpy as np

    for name, value in flags.items():
        check_value(isinstance(value, bool | np.bool_), name, "True or False", value)


def check_path(name: str, value: Any, *also: str) -> None:
    """A path given in Python: str or os.PathLike; `also` admits "table" (a DataFrame), "model"
    (a loaded model) and "none". An int or a list is refused by its keyword, not met later as
    a TypeError deep inside."""
    import os

    if (isinstance(value, str | os.PathLike)
            or ("table" in also and _is_frame(value))
            or ("model" in also and hasattr(value, "meta") and hasattr(value, "threshold"))
            or ("none" in also and value is None)):  # fmt: skip
        return
    kinds = {"table": "a DataFrame", "model": "a loaded model", "none": "None"}
    need = ["a path (str or pathlib.Path)"] + [v for k, v in kinds.items() if k in also]
    said = " or ".join([", ".join(need[:-1]), need[-1]] if len(need) > 1 else need)
    small = isinstance(value, int | float | bool) or (isinstance(value, list | tuple)
                                                      and len(repr(value)) <= 40)  # fmt: skip
    shown = repr(value) if small else f"a {type(value).__name__}"
    raise ConfigError(f"{name} must be {said}, got {shown}")


def _is_frame(value: Any) -> bool:
    import pandas as pd  # only when a table may be given: read_thermal's check imports none

    return isinstance(value, pd.DataFrame)


def unknown_names(unknown: list[str], valid, what: str) -> str:
    """'unknown WHAT ['sise'] (did you mean 'size'?); valid: ...': a misspelt option named
    with the closest valid one, and every valid name."""
    import difflib

    valid = sorted(valid)
    close = [m for u in unknown for m in difflib.get_close_matches(u, valid, n=1)]
    hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
    return f"unknown {what} {unknown}{hint}; valid: {', '.join(valid)}"


def clean_json(obj: Any) -> Any:
    """NaN and numpy scalars made JSON-safe (NaN -> null, tuples -> lists, numpy -> Python)."""
    if isinstance(obj, dict):
        return {_json_key(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean_json(v) for v in obj]
    if type(obj).__module__ == "numpy":  # numpy without importing it: scalars and arrays
        if getattr(getattr(obj, "dtype", None), "kind", "-") in ("m", "M"):  # dates: ISO text
            return _dates(obj.astype(str).tolist())
        obj = obj.tolist()
        if isinstance(obj, list):
            return clean_json(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _dates(text: Any) -> Any:
    """numpy dates as ISO text, at any nesting; NaT (a missing date) as null."""
    if isinstance(text, list):
        return [_dates(t) for t in text]
    return None if text == "NaT" else text


def _json_key(key: Any) -> str:
    """A key as json.dumps writes it (True -> "true", None -> "null", 1.5 -> "1.5"), and any
    other as its text (a Path, a date)."""
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(clean_json(key))
    return str(key)
