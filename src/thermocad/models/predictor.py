"""What every trained model answers, whichever runtime holds its network: the metadata it
carries (threshold, unit, baseline) and P(Sick) for raw arrays.

ModelBundle (PyTorch) and OnnxModel (ONNX Runtime) both derive from Predictor and supply
`predict_maps` (prepared maps -> P(Sick)) and `views` (augmented copies per prediction).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np

from thermocad.preprocess.transforms import EvalTransform


class Predictor(ABC):
    """A model with its model.json (`meta`) and evaluation transform (`transform`)."""

    meta: dict[str, Any]
    transform: EvalTransform
    # Held by each use of the network where another thread's would mix in (ModelBundle's own
    # RLock: Grad-CAM hooks its layers); an ONNX model needs none.
    lock: Any = contextlib.nullcontext()
    # The SHA-256 of the file that defines the model as loaded, as `sha256sum` gives it: a run
    # folder's model.json (which records its weights' digest, checked on load, its threshold
    # and its baseline) or an exported .onnx file; None for a model built in memory.
    sha256: str | None = None

    @property
    @abstractmethod
    def engine(self) -> str:
        """What runs the network: its library and version, and where (the last decimals of
        P(Sick) differ between them; predict's `engine` column)."""

    @abstractmethod
    def predict_maps(
        self, maps: np.ndarray, baseline: np.ndarray | None, tta: bool | None = None
    ) -> np.ndarray:
        """P(Sick) for maps the evaluation transform already prepared, and the baseline's
        P(Sick) of the same files (None without the ensemble): what `predict` pipelines."""

    @abstractmethod
    def views(self, tta: bool | None = None) -> int:
        """How many augmented copies a prediction averages."""

    def __repr__(self) -> str:  # a notebook shows this, not the network or the session
        half = " averaged with the baseline" if self.meta.get("baseline") is not None else ""
        return (f"{type(self).__name__}({self.meta.get('arch', '?')}{half}, "
                f"{self.transform.size} px {self.unit} input, threshold {self.threshold:.4f})")  # fmt: skip

    @property
    def threshold(self) -> float:
        return float(self.meta.get("threshold", 0.5))

    @property
    def unit(self) -> str:
        return str(self.meta.get("unit", "celsius"))

    @cached_property
    def baseline(self):
        """The classical baseline the CNN is averaged with (model.json "baseline"), or None."""
        from thermocad.models.baseline import LinearBaseline

        entry = self.meta.get("baseline")
        return None if entry is None else LinearBaseline.from_dict(entry)

    @staticmethod
    def average(cnn: np.ndarray, baseline: np.ndarray | None) -> np.ndarray:
        """The ensemble's P(Sick): the mean of the CNN's and the baseline's (the CNN's alone
        when there is no baseline)."""
        if baseline is None:
            return cnn
        return ((np.asarray(cnn, np.float64) + baseline) / 2).astype(np.float32)

    def predict(
        self,
        arrays: Sequence[np.ndarray],
        tta: bool | None = None,
        batch_size: int = 16,
        cnn_only: bool = False,
        unit: str | None = None,
    ) -> np.ndarray:
        """P(Sick) for each array; the CNN's is the mean over the original and the model's own N
        augmented copies (none for the default recipe; `tta=False`: none). A model trained with
        the baseline ensemble averages the CNN's P(Sick) with the baseline's, unless `cnn_only`.
        `unit`: the arrays' ("celsius" or "intensity"), by default the model's own."""
        if isinstance(arrays, np.ndarray) and arrays.ndim == 2:  # one image, not a list of rows
            from thermocad.utils.errors import ConfigError

            raise ConfigError(f"predict takes a sequence of 2-D arrays, one per image; got one "
                              f"{arrays.shape[0]} x {arrays.shape[1]} array: pass [array]")  # fmt: skip
        if cnn_only:  # checked as predict_parts checks them
            arrays = checked(arrays, None if unit else self.unit)
            return self._cnn_probs(arrays, tta, batch_size, unit or self.unit)
        return self.average(*self.predict_parts(arrays, tta, batch_size, unit))

    def predict_parts(
        self,
        arrays: Sequence[np.ndarray],
        tta: bool | None = None,
        batch_size: int = 16,
        unit: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The CNN's P(Sick) and the baseline's (None for a model without the ensemble); an
        array that a file's frame could not be (empty, not finite, ...) is a ThermalFormatError
        naming its place, as the file would be (an embedding review: IndexError, or a score)."""
        arrays = checked(arrays, None if unit else self.unit)
        unit = unit or self.unit
        cnn = self._cnn_probs(arrays, tta, batch_size, unit)
        return cnn, None if self.baseline is None else self.baseline.predict_arrays(arrays, unit)

    def _cnn_probs(
        self, arrays: Sequence[np.ndarray], tta: bool | None, batch_size: int, unit: str
    ) -> np.ndarray:
        """The CNN's P(Sick), prepared and run `batch_size` files at a time."""
        out = []
        for i in range(0, len(arrays), batch_size):
            batch = arrays[i : i + batch_size]
            maps = np.stack([self.transform.prepare(a, unit) for a in batch])
            out.append(self.predict_maps(maps, None, tta))  # no baseline: the CNN's alone
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)


def checked(arrays: Sequence, assumed: str | None = None) -> list[np.ndarray]:
    """The arrays as float32, each refused as a file's frame would be (ThermalFormatError naming
    "array I": not numbers, not 2-D, too small or large, not finite). `assumed`: the model's
    unit, taken for arrays given without theirs; for °C, values no skin reaches are refused (an
    image's grey levels had been scored as degrees, with no word: a parity review)."""
    from thermocad.io.thermal import validate_frame
    from thermocad.preprocess.plausible import SKIN_MAX_C
    from thermocad.utils.errors import ThermalFormatError

    out = []
    for i, array in enumerate(arrays):
        try:
            out.append(np.asarray(array, dtype=np.float32))
        except (TypeError, ValueError) as exc:
            raise ThermalFormatError(f"array {i}: not an array of numbers ({exc})") from None
        # Its shape and finiteness (a unit without a range): the temperatures' range is the
        # reader's to check, and --allow-unit-mismatch passes grey levels to a model of °C
        validate_frame(out[-1], f"array {i}", "intensity")
        if assumed == "celsius" and (high := float(np.percentile(out[-1], 99))) > SKIN_MAX_C[1]:
            raise ThermalFormatError(
                f"array {i}: its values reach {high:.4g} (99th percentile), warmer than any "
                f"skin ({SKIN_MAX_C[1]:g} °C), and this model reads temperatures in °C: give "
                'the thermal matrix in °C; pass unit="intensity" only to score grey levels '
                "anyway (their P(Sick) then means nothing)"
            )
    return out
