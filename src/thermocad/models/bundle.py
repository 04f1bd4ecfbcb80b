"""The model bundle: model.safetensors + model.json, loadable without pickle or training code."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from thermocad.models.meta import DIGEST
from thermocad.models.predictor import Predictor
from thermocad.models.words import tta_views
from thermocad.preprocess.augment import Augmentation, augmented_input
from thermocad.preprocess.transforms import EvalTransform
from thermocad.utils.errors import ModelFormatError

# INCOMPLETE re-exported: a folder being written
from thermocad.utils.files import FIT_RESUME, INCOMPLETE, incomplete_reason, maker

if TYPE_CHECKING:
    from torch import nn

WEIGHTS = "model.safetensors"
META = "model.json"
# A training run's INCOMPLETE mark once its model is written, while its checkpoint is removed
# (training.outputs): a run killed then left a whole model, which `train --resume` completes.
FINISHED_TRAINING = "training finished: its model is written, its checkpoint being removed\n"
# Pickle-based files are never loaded: they can run arbitrary code.
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".pth", ".pt", ".bin", ".ckpt")


@dataclass(repr=False)  # Predictor's repr: the dataclass's would print the whole network
class ModelBundle(Predictor):
    """A trained model with everything predict/explain/app need (PyTorch)."""

    model: nn.Module
    meta: dict[str, Any]
    transform: EvalTransform
    path: Path | None = None  # the run folder it was loaded from (its training record is there)
    # Predictor.lock, its own: Grad-CAM hooks the layers, and a forward pass in another thread
    # meanwhile (a prediction, another map) would mix into the map (an embedding review).
    lock: Any = field(default_factory=threading.RLock, compare=False)
    sha256: str | None = None  # its model.json's (Predictor.sha256)

    @property
    def engine(self) -> str:
        import torch

        on = next(self.model.parameters()).device
        return f"PyTorch {torch.__version__} on {on}" + f", {torch.get_num_threads()} threads" * (on.type == "cpu")  # fmt: skip

    def target_layer(self) -> nn.Module:
        """The Grad-CAM target layer, from the architecture's ArchSpec."""
        from thermocad.models.registry import get_arch

        return get_arch(self.meta["arch"]).target_layer(self.model)

    def views(self, tta: bool | None = None) -> int:
        """How many augmented copies a prediction averages (models.words.tta_views)."""
        return tta_views(self.meta, tta)

    def predict_maps(
        self, maps: np.ndarray, baseline: np.ndarray | None, tta: bool | None = None
    ) -> np.ndarray:
        """Predictor.predict_maps in PyTorch."""
        if not len(maps):
            return np.zeros(0, dtype=np.float32)
        aug = Augmentation(**self.meta.get("augmentation", {}))
        with self.lock:
            cnn = map_probs(self.model, maps, self.transform, self.views(tta), aug)
        return self.average(cnn, baseline)


def map_probs(
    model: nn.Module,
    maps: np.ndarray,
    transform: EvalTransform,
    n_aug: int = 0,
    aug: Augmentation | None = None,
) -> np.ndarray:
    """P(Sick) for prepared maps (B, S, S): the mean over the map itself and `n_aug` augmented
    views."""
    import torch

    device = next(model.parameters()).device
    model.eval()
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32))[:, None].to(device)
        # View k is the same fixed augmentation for every image, whatever the batching.
        views = [transform.finish(x)] + [
            augmented_input(
                x, transform, aug or Augmentation(), torch.Generator().manual_seed(k), shared=True
            )
            for k in range(n_aug)
        ]
        # channels_last: ~30% faster convolutions on CPU for the same numbers.
        probs = [
            model(v.contiguous(memory_format=torch.channels_last)).float().softmax(1)[:, 1]
            for v in views
        ]
        return torch.stack(probs).mean(0).cpu().numpy()


def tensor_shapes(model: nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def save_bundle(run_dir: str | Path, model: nn.Module, meta: dict[str, Any]) -> Path:
    """Write model.safetensors and model.json (with the tensor table) atomically."""
    from safetensors.torch import save_file

    from thermocad.utils.files import atomic_path, atomic_write_json

    run_dir = Path(run_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {**meta, "tensors": tensor_shapes(model)}
    with atomic_path(run_dir / WEIGHTS) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt", "arch": str(meta.get("arch"))})
        _sort_metadata(tmp)  # the same weights, the same bytes (and digest)
        # load_bundle checks the weights against it: a file damaged or replaced is refused.
        meta[DIGEST] = file_sha256(tmp)
    atomic_write_json(run_dir / META, meta)
    return run_dir


def _sort_metadata(path: Path) -> None:
    """Rewrite a safetensors header with its metadata in key order, in place and at the same
    length: safetensors writes them in a random order, so identical weights made files (and
    `weights_sha256`) that differed between runs."""
    import json
    import struct

    with path.open("r+b") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
        if "__metadata__" in header:
            header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
        if len(text) <= n:  # as written, less the spaces that align the data
            fh.seek(8)
            fh.write(text.ljust(n))


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (~10 ms for lite0's 14 MB)."""
    import hashlib

    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _check_digest(weights: Path, meta: dict[str, Any]) -> None:
    """Refuse weights whose bytes are not those save_bundle wrote; a model.json from before
    the digest was recorded (2026-12-05) has none and is not checked."""
    if DIGEST in meta and file_sha256(weights) != meta[DIGEST]:
        raise ModelFormatError(
            f"{weights}: does not match {META}'s digest ({DIGEST}): replaced or damaged"
        )


def _check_architecture(model: nn.Module, meta: dict[str, Any], weights: Path) -> None:
    """The network built from model.json's arch must have the tensors the weights hold."""
    built = tensor_shapes(model)
    if names := _differing(meta["tensors"], built):
        diff = [
            f"{k} {meta['tensors'].get(k, 'absent')} vs {built.get(k, 'absent')}" for k in names
        ]
        raise ModelFormatError(
            f"{weights}: does not fit architecture {meta['arch']!r} of {META} "
            f"({len(diff)} tensors differ, first: {'; '.join(diff[:3])})"
        )


def _differing(table: dict[str, list[int]], other: dict[str, list[int]]) -> list[str]:
    """The tensor names whose shapes two tensor tables disagree on (absent in one included)."""
    return [k for k in sorted(set(table) | set(other)) if table.get(k) != other.get(k)]


def weights_format(path: Path) -> str:
    """ "safetensors", "pickle" or "unknown", from the file's structure (not one magic byte).

    A safetensors file is an 8-byte little-endian header length N, then N bytes of JSON
    starting with "{", then the tensor data. Only a file that is not that is looked at as a
    pickle (protocol 2+ starts with 0x80) or a zip (torch.save's format)."""
    with path.open("rb") as fh:
        head = fh.read(9)
        size = path.stat().st_size
    if len(head) == 9:
        n = int.from_bytes(head[:8], "little")
        if 8 + n <= size and head[8:9] == b"{":
            return "safetensors"
    if head[:1] == b"\x80" or head.startswith(b"PK\x03\x04"):
        return "pickle"
    return "unknown"


def _read_weights(path: Path) -> dict:
    from safetensors.torch import load_file

    kind = weights_format(path)
    if kind == "pickle":
        raise ModelFormatError(f"{path}: is a pickle/zip file, not safetensors; refused")
    if kind != "safetensors":
        raise ModelFormatError(f"{path}: not a safetensors file (no valid header)")
    try:
        return load_file(str(path))
    except Exception as exc:
        raise ModelFormatError(f"{path}: not a readable safetensors file ({exc})") from exc


def _read_meta(run_dir: Path) -> dict[str, Any]:
    from thermocad.models.meta import read_meta

    path = run_dir / META
    if not path.is_file():
        raise ModelFormatError(f"{path}: missing; a model bundle needs {META} and {WEIGHTS}")
    return read_meta(path)


def check_complete(run_dir: Path) -> None:
    """Refuse a run folder whose training has not finished (its INCOMPLETE marker, or an
    unfinished fit's record: killed after its final training, before writing what its CV chose)."""
    if (run_dir / INCOMPLETE).exists() or (run_dir / FIT_RESUME).exists():
        from thermocad.utils.lock import running_writer

        if writer := running_writer(run_dir):
            raise ModelFormatError(f"{run_dir}: still being trained ({writer}); wait for it")
        how = (
            "run the same `thermocad fit` with --resume to continue it, or with --force to start again"
            # a fit folder: its mark says so (as prepare_out_dir and fit --resume decide)
            if maker(run_dir) == "fit"
            else "its model was written, and the run stopped while removing its checkpoint: "
            "`thermocad train ... --resume` with the same options marks it complete"
            if incomplete_reason(run_dir) == FINISHED_TRAINING.strip()
            else "finish it with `thermocad train ... --resume` or train again with --force"
            if (run_dir / "checkpoint" / "state.json").is_file()
            else "it stopped before its first checkpoint: train again with --force"
        )
        from thermocad.utils.stops import last_stop

        # when, and what stopped it (its INCOMPLETE file says more)
        stop = last_stop(run_dir)
        said = (
            "interrupted or still running"
            if stop is None
            else (stop[:160] + "..." * (len(stop) > 160))
        )
        raise ModelFormatError(f"{run_dir}: training run is incomplete; {how} ({said})")


def load_bundle(run_dir: str | Path) -> ModelBundle:
    """Load a trained model from safetensors + JSON; refuse pickles and mismatched files."""
    import torch

    from thermocad.models.registry import create_model

    run_dir = Path(run_dir)
    weights = run_dir / WEIGHTS
    check_complete(run_dir)
    if not weights.is_file():
        pickles = [p.name for p in run_dir.glob("*") if p.suffix in _PICKLE_SUFFIXES]
        hint = f"; pickle files {pickles} are never loaded" if pickles else ""
        if not pickles and run_dir.is_dir() and any(run_dir.glob("T[0-9]*.txt")):
            hint = ("; it holds thermograms, not a model: give the model's folder (first, in "
                    "predict and explain)")  # fmt: skip
        if run_dir.name == "cv" and (run_dir.parent / META).is_file():  # inside a fit's folder
            hint = f"; it is `fit`'s cross-validation: the model is {run_dir.parent}"
        where = (f"{run_dir}: is a file, not a model folder: give the run folder that `train` "
                 "or `fit` wrote (predict, evaluate and serve also take an exported .onnx file)"
                 if run_dir.is_file() else f"{run_dir}: no such model folder"
                 if not run_dir.is_dir() else f"{weights}: missing")  # fmt: skip
        raise ModelFormatError(f"{where}; a model bundle needs {META} and {WEIGHTS}{hint}")
    meta = _read_meta(run_dir)
    state = _read_weights(weights)  # a pickle or no safetensors at all: said so first
    _check_digest(weights, meta)
    shapes = {k: list(v.shape) for k, v in state.items()}
    if diff := _differing(meta["tensors"], shapes)[:3]:
        raise ModelFormatError(
            f"{weights}: tensors do not match {META} (first differences: {diff})"
        )
    model = create_model(
        meta["arch"],
        pretrained=False,
        in_chans=int(meta["in_chans"]),
        n_classes=len(meta["classes"]),
    )
    _check_architecture(model, meta, weights)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFormatError(
            f"{weights}: does not fit architecture {meta['arch']}: {exc}"
        ) from exc
    transform = EvalTransform.from_dict(meta["transform"])
    model = model.to(memory_format=torch.channels_last).eval()
    # A broken baseline entry was refused by read_meta (validate_meta builds it), by name.
    return ModelBundle(model=model, meta=meta, transform=transform, path=run_dir.absolute(),
                       sha256=file_sha256(run_dir / META))  # fmt: skip
