"""Training: TrainConfig (every default in one block) and train(), the study's recipe end to end."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from thermocad.preprocess.transforms import Augmentation
from thermocad.utils.errors import ConfigError

ENSEMBLES = ("baseline", "none")


@dataclass(frozen=True)
class TrainConfig:
    """All training options; saved as config.json and inside model.json."""

    # Defaults: the recipe that did best in patient-grouped cross-validation on DMR-IR
    # (docs/results.md): the study's frozen-body stage on precomputed features, with the
    # calibration marker masked, the chest cropped, 320 px inputs, temperatures in degrees
    # around the skin's own level, the network shown only their left/right asymmetry (none
    # where a point or its mirror is off the body), no TTA, averaged with the classical baseline.
    # `TrainConfig.study()` is the 2019 study's full recipe (fine-tuning included).
    arch: str = "efficientnet_lite0"  # ImageNet weights installed offline
    pretrained: bool = True
    weights: str | None = None  # a weights FILE instead of the ImageNet download
    size: int | None = 320  # None: the architecture's input size (224)
    batch_size: int = 8
    lr: float | None = 1e-2  # None: lr_find's suggestion
    lr_find_iters: int = 100
    precompute: bool = True  # train the head on cached body features first
    head_epochs: int = 30
    frozen_cycles: int = 0  # frozen body, augmented images, cycle_len epochs each
    schedule: str = "sgdr"  # or "one_cycle"
    optimizer: str = "sgd"  # SGD with momentum 0.9 as in the study, or "adam" (fastai's default)
    cycles: int = 0  # unfrozen SGDR cycles (the study: 3)
    cycle_len: int = 1
    cycle_mult: int = 2
    lrs: tuple[float, ...] = (1e-4, 1e-3, 1e-2)  # early body, late body, head
    # Augmented copies averaged at validation. Off by default: the default head trains on
    # features of un-augmented images only, so augmented views are new to it (and measured
    # worse, docs/results.md); the study's recipe, which trains on augmented images, uses 4.
    tta: int = 0
    seed: int = 0
    balance: str = "loss"  # "loss" (class weights), "sampler" or "none"
    # "relative" (a 14 C window centred on the body's median), "robust" (per-image
    # percentiles: the only one for 8/16-bit images), "celsius" (fixed) or "intensity".
    norm: str = "relative"
    norm_low: float = 22.0
    norm_high: float = 36.0
    # "asymmetry": the map minus its left/right mirror, as one grey image; "temperature": the
    # map itself. Both together mix in the body's first layer (measured worse, docs/results.md).
    channels: tuple[str, ...] = ("asymmetry",)
    crop: str = "breasts"  # "none": the whole frame
    marker: str = "remove"  # "keep": leave the calibration marker in view
    # "symmetric": no asymmetry where a point or its mirror is off the body (the outline's
    # offset measures where the woman stood); "remove": only the body in view (the room
    # filled); "keep": as recorded (see transforms).
    background: str = "symmetric"
    # True: the head also trains on the features of every training image mirrored left-right,
    # and every prediction is the mean over the image and its mirror (measured no better on
    # DMR-IR, docs/results.md).
    mirror: bool = False
    # "baseline": the model's P(Sick) is the mean of the CNN's and the classical baseline's
    # (fitted on the same training patients and stored in model.json); "none": the CNN alone.
    ensemble: str = "baseline"
    augmentation: Augmentation = field(default_factory=Augmentation)
    max_batches: int | None = None  # stop each epoch early (smoke runs)

    def __post_init__(self) -> None:
        if self.schedule not in ("sgdr", "one_cycle"):
            raise ConfigError(f"unknown schedule {self.schedule!r}; use sgdr or one_cycle")
        if self.optimizer not in ("sgd", "adam"):
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; use sgd or adam")
        if self.ensemble not in ENSEMBLES:
            raise ConfigError(f"unknown ensemble {self.ensemble!r}; use one of {ENSEMBLES}")
        if self.batch_size < 2 or self.cycles < 0 or self.cycle_len < 1 or self.cycle_mult < 1:
            raise ConfigError("batch_size >= 2, cycles >= 0, cycle_len >= 1, cycle_mult >= 1")

    @classmethod
    def study(cls, **overrides: Any) -> TrainConfig:
        """The 2019 study's recipe: whole frame at 224 px, head, frozen and unfrozen SGDR stages."""
        base = dict(size=None, head_epochs=1, frozen_cycles=2, cycles=3, channels=("temperature",),
                    crop="none", marker="keep", background="keep", ensemble="none", tta=4,
                    norm="robust")  # fmt: skip
        return cls(**{**base, **overrides})

    @classmethod
    def smoke(cls, **overrides: Any) -> TrainConfig:
        """Every stage, tiny: 64 px, a couple of batches per epoch, well under a minute on CPU."""
        base = dict(size=64, batch_size=4, lr_find_iters=10, head_epochs=1, frozen_cycles=1,
                    cycles=2, tta=1, max_batches=2)  # fmt: skip
        return cls(**{**base, **overrides})

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        d.setdefault("ensemble", "none")  # configs from before the option: the CNN alone
        d.setdefault("background", "keep")  # and the room as recorded
        d["augmentation"] = Augmentation(**d.get("augmentation", {}))
        for key in ("lrs", "channels"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    def with_(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)
