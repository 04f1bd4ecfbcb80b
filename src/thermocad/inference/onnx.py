"""Prediction with an exported ONNX model: ONNX Runtime and numpy, no PyTorch.

`thermocad export --onnx` stores model.json (transform, threshold, baseline coefficients,
config) in the file's metadata, so the .onnx file alone predicts as the run folder does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from thermocad.inference.export import (
    INPUT_NAME,
    OUTPUT_NAME,
    PROBE,
    difference_words,
    logits_differ,
    probe_input,
)
from thermocad.models.bundle import file_sha256
from thermocad.models.meta import onnx_metadata
from thermocad.models.predictor import Predictor
from thermocad.models.words import tta_views
from thermocad.preprocess.augment import Augmentation
from thermocad.preprocess.transforms import EvalTransform
from thermocad.utils.errors import ModelFormatError


class OnnxModel(Predictor):
    """An exported model with the predict interface of ModelBundle (CNN part in ONNX Runtime)."""

    def __init__(self, path: str | os.PathLike, device: str = "auto") -> None:
        import onnxruntime as ort

        from thermocad.models.device import onnx_providers

        self.path = Path(path)
        if not self.path.is_file():
            what = "is a folder, not an ONNX file" if self.path.is_dir() else "no such ONNX file"
            raise ModelFormatError(f"{self.path}: {what}")
        providers = onnx_providers(device)
        try:
            self.session = ort.InferenceSession(str(self.path), providers=providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelFormatError(f"{self.path}: not a readable ONNX model ({exc})") from exc
        self.meta = onnx_metadata(self.path, self.session)
        self.sha256 = file_sha256(self.path)
        try:
            self.transform = EvalTransform.from_dict(self.meta["transform"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"{self.path}: bad transform in its metadata ({exc})") from exc
        self._check_signature()
        self._check_probe()  # a broken baseline entry was refused by _metadata (validate_meta)

    def _check_signature(self) -> None:
        """Refuse a network that does not take what its metadata prepares, (any batch,
        in_chans, size, size) as INPUT_NAME, or does not give OUTPUT_NAME: ONNX Runtime's own
        error would come later, as a traceback, from the first prediction."""
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        size, chans = self.transform.size, int(self.meta["in_chans"])
        shape = list(inputs[0].shape) if len(inputs) == 1 else None
        want = f"one input {INPUT_NAME!r} of shape (batch, {chans}, {size}, {size})"
        if shape is None or inputs[0].name != INPUT_NAME or len(shape) != 4:
            got = ", ".join(f"{i.name!r} {tuple(i.shape)}" for i in inputs)
            raise ModelFormatError(f"{self.path}: its network takes {got}, not the {want} "
                                   "its metadata prepares")  # fmt: skip
        fixed = [d for d, w in zip(shape[1:], [chans, size, size], strict=True)
                 if isinstance(d, int) and d != w]  # fmt: skip
        # A fixed batch (1 after some tools' re-export) is fed that many images at a time.
        self.batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        if fixed or OUTPUT_NAME not in {o.name for o in outputs}:
            raise ModelFormatError(f"{self.path}: its network takes {tuple(shape)} and gives "
                                   f"{[o.name for o in outputs]}; its metadata prepares {want} "
                                   f"and reads {OUTPUT_NAME!r}")  # fmt: skip

    def _check_probe(self) -> None:
        """Refuse a file whose network no longer computes the logits stored at export (its
        weights damaged or edited since): its P(Sick) would be wrong without a sign. Files
        exported before the probe was stored are not checked."""
        want = self.meta.get(PROBE)
        if want is None:
            return
        size = self.transform.size
        got = self.run_input(probe_input((int(self.meta["in_chans"]), size, size)))
        # Looser than export's 1e-4: another execution provider (a GPU's) rounds otherwise.
        if (worst := logits_differ(got, want, 1e-3)) is not None:
            raise ModelFormatError(f"{self.path}: its network's logits on the export's check "
                                   f"input {difference_words(worst, 'those stored at export')}: "
                                   "the file was damaged or edited since; export it again")  # fmt: skip

    @property
    def engine(self) -> str:
        import onnxruntime as ort

        return f"ONNX Runtime {ort.__version__} on {self.session.get_providers()[0]}"

    def predict_maps(
        self, maps: np.ndarray, baseline: np.ndarray | None, tta: bool | None = None
    ) -> np.ndarray:
        """As ModelBundle.predict_maps: P(Sick) from prepared maps and the baseline's part."""
        if not len(maps):
            return np.zeros(0, dtype=np.float32)
        views = self._inputs(maps, self.views(tta))
        cnn = np.mean([self.logits_to_probs(self.run_input(v)) for v in views], axis=0)
        return self.average(cnn.astype(np.float32), baseline)

    def views(self, tta: bool | None = None) -> int:
        """As ModelBundle.views, except that the model's own copies (`tta=None`) are left out
        where PyTorch, which draws them, is missing: the core install still predicts, and
        predict says so (inference.notes.tta_note). `tta=True` there is refused instead."""
        from thermocad.utils.extras import available

        n = tta_views(self.meta, tta)
        return 0 if n and tta is None and not available("torch") else n

    def _inputs(self, maps: np.ndarray, n_aug: int) -> list[np.ndarray]:
        """Network inputs: the maps themselves, then the same fixed TTA views as map_probs
        (torch's grid_sample: needs the [train] extra)."""
        inputs = [self.transform.finish_numpy(maps)]
        if not n_aug:
            return inputs
        from thermocad.utils.extras import require

        require("torch", extra="train", what="PyTorch (test-time augmentation, --tta)")
        import torch

        from thermocad.preprocess.augment import augmented_input

        aug = Augmentation(**self.meta.get("augmentation", {}))
        x = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32))[:, None]
        return inputs + [
            augmented_input(x, self.transform, aug, torch.Generator().manual_seed(k), shared=True)
            .numpy()
            .astype(np.float32)
            for k in range(n_aug)
        ]

    def run_input(self, x: np.ndarray) -> np.ndarray:
        """Logits (B, 2) of the network for its input (B, C, S, S), float32, in pieces of the
        network's fixed batch if it has one; ModelFormatError naming the file when ONNX
        Runtime refuses the input (InvalidArgument) or the output is not (B, 2). Its other
        errors (a GPU out of memory) are no fault of the file: they propagate."""
        if self.batch is None or len(x) == self.batch:
            return self._run(x)
        parts = []
        for i in range(0, len(x), self.batch):  # the last piece padded with its last image
            part = x[i : i + self.batch]
            pad = np.repeat(part[-1:], self.batch - len(part), axis=0)
            parts.append(self._run(np.concatenate([part, pad]))[: len(part)])
        return np.concatenate(parts)

    def _run(self, x: np.ndarray) -> np.ndarray:
        from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

        try:
            out = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(x)})[0]
        except InvalidArgument as exc:  # a shape or type the graph does not take
            raise ModelFormatError(f"{self.path}: ONNX Runtime could not run its network on "
                                   f"an input of shape {x.shape} ({exc})") from exc  # fmt: skip
        if np.shape(out) != (len(x), 2):
            raise ModelFormatError(f"{self.path}: its network gives {OUTPUT_NAME!r} of shape "
                                   f"{np.shape(out)} for {len(x)} images, not (images, 2): "
                                   "Healthy and Sick")  # fmt: skip
        return out

    @staticmethod
    def logits_to_probs(logits: np.ndarray) -> np.ndarray:
        """Softmax P(Sick) from logits (B, 2), in float64."""
        from scipy.special import softmax

        return softmax(np.asarray(logits, np.float64), axis=1)[:, 1]
