"""model.json: read it with bounds and validate every field the model is built from."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from thermocad.models.compat import check_format
from thermocad.utils.errors import ConfigError, ModelFormatError

# model.json is ~20 kB (its tensor table) + ~100 bytes a training file (trained_files): 64 MB
# holds 600,000 files (4 MB had refused a fit on 42,000 frames); with its values bounded (commas,
# opening brackets: two a file; [[[]]] has no comma) a hostile one allocates ~0.5 GB, not 1.6-2.9.
MAX_META_BYTES, MAX_META_VALUES = 64_000_000, 2_000_000
CAP_WORDS = f"a model.json is at most {MAX_META_BYTES // 1_000_000} MB"
_MISSING = object()
META_KEY = "thermocad_model_json"  # an exported .onnx file's metadata entry holding model.json
META_DIGEST = "thermocad_model_json_sha256"  # its text's SHA-256 at export: an edit is seen


def meta_digest(text: str) -> str:
    """The SHA-256 of META_KEY's text, as export stores it under META_DIGEST."""
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


DIGEST = "weights_sha256"  # model.json's record of model.safetensors' bytes
Check = Callable[[Any], str | None]  # None when the value is fine, else what is wrong


def _int_in(lo: int, hi: int) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            return f"must be an integer in {lo}..{hi}, got {v!r}"
        return None

    return check


def _number_in(lo: float, hi: float) -> Check:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or not lo <= v <= hi:
            return f"must be a number in {lo:g}..{hi:g}, got {v!r}"
        return None

    return check


def _numbers(v: Any) -> str | None:
    if not isinstance(v, list) or not v or len(v) > 8:
        return f"must be a list of 1 to 8 numbers, got {v!r:.60}"
    if any(_number_in(-1e6, 1e6)(x) for x in v):
        return f"must hold finite numbers, got {v!r:.60}"
    return None


def _kind(kind: type, what: str) -> Check:
    return lambda v: None if isinstance(v, kind) else f"must be {what}, got {type(v).__name__}"


def _ordered_pair(v: Any) -> bool:
    """[low, high]: two finite numbers, low <= high (a range model.json records)."""
    if not (isinstance(v, list) and len(v) == 2):
        return False
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
                  for x in v)  # fmt: skip
    return numbers and v[0] <= v[1]


def _room_range(v: Any) -> str | None:
    """[lowest, highest] room (or skin) temperature (°C) of the training women: predict's checks."""
    return None if _ordered_pair(v) else "must be [lowest, highest] in °C"


def _sharpness_range(v: Any) -> str | None:
    """[lowest, highest] sharpness of the training files (preprocess.plausible.sharpness)."""
    return None if _ordered_pair(v) and v[0] >= 0 else "must be [lowest, highest], at least 0"


def _frame_shapes(v: Any) -> str | None:
    """[[height, width], ...] of the training frames: predict's shape check."""
    ok = isinstance(v, list) and 0 < len(v) <= 64 and all(
        isinstance(s, list) and len(s) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in s) for s in v)  # fmt: skip
    return None if ok else "must be a list of [height, width] in pixels"


def _one_of(*choices: str) -> Check:
    return lambda v: None if v in choices else f"must be one of {choices}, got {v!r:.40}"


def _arch(v: Any) -> str | None:
    from thermocad.models.registry import REGISTER_AGAIN, get_arch

    if not isinstance(v, str):
        return f"must be an architecture name, got {v!r:.40}"
    try:
        get_arch(v)
    except ConfigError as exc:  # a notebook's register_arch, not made in this process?
        return f"is invalid: {exc}; {REGISTER_AGAIN}"
    return None


def _arch_name(v: Any) -> str | None:
    from thermocad.utils.out_names import NAME_RULE, is_name

    return None if is_name(v) else f"must be an architecture name ({NAME_RULE}), got {v!r:.40}"


def _tensors(v: Any) -> str | None:
    if not isinstance(v, dict):
        return f"must be an object of tensor shapes, got {type(v).__name__}"
    for name, shape in v.items():
        if not isinstance(shape, list) or any(_int_in(0, 1 << 31)(d) for d in shape):
            return f"shape of {name!r:.60} must be a list of sizes, got {shape!r:.40}"
    return None


def _mirror(v: Any) -> str | None:
    """A model trained on images and their mirrors cannot be reproduced: mirror was removed."""
    if v is True:
        return "is the removed option mirror=True; retrain the model with this version"
    return None if v is False else "must be false"


def _sha256(v: Any) -> str | None:
    ok = isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)
    return None if ok else f"must be 64 lowercase hex digits, got {v!r:.70}"


# (dotted field, required, check): every value load_bundle and predict read from model.json.
FIELDS: tuple[tuple[str, bool, Check], ...] = (
    ("arch", True, _arch),
    ("classes", True, _kind(list, "a list")),  # thermocad's own: models/compat.py
    ("in_chans", True, _int_in(1, 8)),
    ("tensors", True, _tensors),
    ("transform", True, _kind(dict, "an object")),
    ("transform.size", True, _int_in(16, 2048)),  # 20000 px would allocate 1.5 GiB per image
    ("transform.mean", True, _numbers),
    ("transform.std", True, _numbers),
    ("transform.normalization", False, _kind(dict, "an object")),
    ("transform.channels", False, _kind(list, "a list")),
    ("input_size", False, _int_in(16, 2048)),
    ("weights_sha256", False, _sha256),
    ("threshold", False, _number_in(0.0, 1.0)),  # NaN would answer "Healthy" for every file
    ("unit", False, _one_of("celsius", "intensity")),
    ("config", False, _kind(dict, "an object")),
    ("config.tta", False, _int_in(0, 32)),  # each view is a forward pass: 100000 never ends
    ("config.mirror", False, _mirror),
    ("augmentation", False, _kind(dict, "an object")),
    ("data.room_range_c", False, _room_range),
    ("data.skin_range_c", False, _room_range),
    ("data.frame_shapes", False, _frame_shapes),
    ("data.sharpness_range", False, _sharpness_range),
    (
        "baseline",
        False,
        lambda v: None if v is None or isinstance(v, dict) else "must be an object",
    ),
)


def _get(meta: dict, dotted: str) -> Any:
    value: Any = meta
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def validate_meta(meta: Any, path: Path, weights: bool = True) -> dict[str, Any]:
    """Check every field in FIELDS, then build the transform; one ModelFormatError per problem.
    `weights=False`: an .onnx file's copy (no tensor table; its arch needs no registry, nor timm)."""
    if not isinstance(meta, dict):
        raise ModelFormatError(f"{path}: must hold a JSON object, got {type(meta).__name__}")
    for field, required, check in FIELDS:
        if not weights and field == "tensors":
            continue
        if not weights and field == "arch":  # a name as timm's (it is shown on pages)
            check = _arch_name
        value = _get(meta, field)
        if value is _MISSING:
            if required:
                raise ModelFormatError(f"{path}: field {field!r} is missing")
            continue
        problem = check(value)
        if problem:
            raise ModelFormatError(f"{path}: field {field!r} {problem}")
    check_format(meta, path)  # a newer thermocad's meaning, or an edit, said before it is used
    _build_parts(meta, path)
    return meta


def _build_parts(meta: dict, path: Path) -> None:
    """The transform, augmentation and baseline the model needs must build from their entries
    (a damaged baseline would otherwise fail at the first prediction, without the file's name)."""
    from thermocad.models.baseline import LinearBaseline
    from thermocad.preprocess.augment import Augmentation
    from thermocad.preprocess.transforms import EvalTransform

    for field, build in (
        ("transform", lambda: EvalTransform.from_dict(meta["transform"])),
        ("augmentation", lambda: Augmentation(**meta.get("augmentation", {}))),
        ("baseline", lambda: meta.get("baseline") and LinearBaseline.from_dict(meta["baseline"])),
    ):
        try:
            built = build()
        except (ConfigError, TypeError, ValueError, KeyError) as exc:
            raise ModelFormatError(f"{path}: field {field!r} is invalid ({exc})") from exc
        size = meta.get("input_size")
        if field == "transform" and size is not None and built.size != size:
            raise ModelFormatError(
                f"{path}: field 'transform' resizes to {built.size} px but 'input_size' is "
                f"{size}: the network was trained at one size (an edited model.json?)"
            )
        if field == "transform" and built.in_chans != meta["in_chans"]:
            raise ModelFormatError(f"{path}: field 'in_chans' is {meta['in_chans']} but the "
                                   f"transform makes {built.in_chans} channel(s)")  # fmt: skip


def parse_bounded(text: str, where: str) -> Any:
    """json.loads of a model.json's text (`where`: its name in errors) once its values are
    counted (MAX_META_VALUES); nesting is bounded by the parser's recursion limit."""
    if (marks := text.count(",") + text.count("[") + text.count("{")) >= MAX_META_VALUES:
        raise ModelFormatError(f"{where}: {marks:,} values or containers, more than a model.json holds (at most {MAX_META_VALUES:,})")  # fmt: skip
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        bom = text.startswith("\ufeff")  # Notepad's "UTF-8 with BOM": refused by every reader
        raise ModelFormatError(f"{where}: " + ("starts with a byte order mark; save it as UTF-8 without one" if bom else f"not valid JSON ({exc})")) from exc  # fmt: skip
    except RecursionError as exc:  # "[[[[...": the parser gives up at Python's recursion limit
        raise ModelFormatError(f"{where}: nested too deeply to be a model.json") from exc


def read_meta(path: Path) -> dict[str, Any]:
    """Parse and validate model.json at `path` (bounded in size and nesting)."""
    try:
        size = path.stat().st_size
        if size > MAX_META_BYTES:
            raise ModelFormatError(f"{path}: {size:,} bytes; {CAP_WORDS}")
        meta = parse_bounded(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError as exc:  # JSON is UTF-8: an editor saved it as UTF-16, say
        raise ModelFormatError(f"{path}: not UTF-8 text, as model.json is written ({exc})") from exc
    except OSError as exc:
        raise ModelFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return validate_meta(meta, path)


def onnx_metadata(onnx_path: str | os.PathLike, session=None, say_changed: bool = True
                  ) -> dict[str, Any]:  # fmt: skip
    """model.json as `thermocad export` stored it in the ONNX file's metadata, checked as a
    model.json is (read with ONNX Runtime; `session`: one already open on the file). A note when
    it was changed after the export (its digest, stored beside it: files exported before
    2026-12-06 have none; `say_changed=False` where the loader that follows says it)."""
    from thermocad.utils.progress import log

    path = Path(onnx_path)
    if session is None:
        session = _metadata_session(path)
    try:  # ONNX Runtime decodes each string of the map (a fuzz review: a traceback had shown)
        stored = session.get_modelmeta().custom_metadata_map
    except UnicodeDecodeError as exc:
        raise ModelFormatError(f"{path}: damaged ONNX metadata, not UTF-8 text ({exc})") from exc
    raw = stored.get(META_KEY)
    if raw is None:
        raise ModelFormatError(
            f"{path}: no thermocad metadata ({META_KEY}); export the model with `thermocad export`"
        )
    if len(raw) > MAX_META_BYTES:  # as model.json: a hostile file allocates nothing large
        raise ModelFormatError(f"{path}: its {META_KEY} metadata is {len(raw):,} characters; "
                               f"{CAP_WORDS}")  # fmt: skip
    meta = parse_bounded(raw, f"{path} ({META_KEY} metadata)")
    if say_changed and (digest := stored.get(META_DIGEST)) and digest != meta_digest(raw):
        log(f"note: {path}: its {META_KEY} metadata was changed after the export (threshold, "
            "baseline, preprocessing or training record): its P(Sick) and calls are not the "
            "exported model's")  # fmt: skip
    return validate_meta(meta, Path(f"{path} ({META_KEY} metadata)"), weights=False)


def _metadata_session(path: Path):
    """An ONNX Runtime session on `path` for its metadata only (no graph optimisation)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own Fail/InvalidGraph types
        raise ModelFormatError(f"{path}: not a readable ONNX model ({exc})") from exc
