"""TrainConfig: every training option, its default, its choices and its help in one place.

Validation (`__post_init__`), the `thermocad train` / `lr-find` flags (cli/train.py) and
model.json all read the fields below, so a choice is defined once.
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any

from thermocad.preprocess.augment import Augmentation
from thermocad.preprocess.transforms import (
    BACKGROUNDS,
    CHANNELS,
    CROPS,
    MARKERS,
    NORMS,
    REMOVED_CELSIUS,
    Normalization,
    legacy_width,
)
from thermocad.utils.errors import ConfigError
from thermocad.utils.values import unknown_names

ENSEMBLES = ("baseline", "none")
# Options that measurements rejected, or that nothing measured or needed, and that were removed
# (experiments/records/decisions.md): the value that is today's behaviour. An old model.json or
# config.json holding it still loads; holding another value, it names the option as removed.
REMOVED = {"mirror": False, "optimizer": "sgd", "schedule": "sgdr", "precompute": True,
           "balance": "loss"}  # fmt: skip
# Fields every config.json has held since the first version: a dict holding them all is a saved
# run's config, and one of those without `ensemble` or `background` predates that option (its
# model: the CNN alone, the room as recorded). Any other dict (a partial config written by
# hand) takes today's defaults for what it leaves out.
SAVED_FIELDS = ("arch", "pretrained", "weights", "size", "batch_size", "lr", "lr_find_iters",
                "head_epochs", "frozen_cycles", "cycles", "cycle_len", "cycle_mult", "lrs", "tta",
                "seed", "norm", "channels", "crop", "augmentation",
                "max_batches")  # fmt: skip
BEFORE_OPTIONS = {"ensemble": "none", "background": "keep"}
# Values of today's options that were removed the same way, with what to say.
REMOVED_VALUES = {
    ("norm", "celsius"): REMOVED_CELSIUS,
    ("background", "remove"): "this config uses the removed option background='remove' (only "
    f"the body in view, measured worse); choose one of {', '.join(BACKGROUNDS)}",
}


def option(default: Any, help: str, choices: tuple | None = None, minimum: float | None = None,
           cli: str | None = "config", factory: Any = None,
           maximum: float | None = None) -> Any:  # fmt: skip
    """A TrainConfig field with its help, choices and bounds (read by __post_init__ and the
    CLI). `cli`: "config" (train and lr-find), "train" (train only) or None (no flag)."""
    meta = {"help": help, "choices": choices, "minimum": minimum, "maximum": maximum, "cli": cli}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainConfig:
    """All training options; saved as config.json and inside model.json."""

    # Defaults: the recipe that did best in patient-grouped cross-validation on DMR-IR
    # (experiments/records/decisions.md): the study's frozen-body stage on precomputed
    # features, with the calibration marker masked, the chest cropped, 320 px inputs, degrees
    # around the skin's own level, the network shown only their left/right asymmetry (none
    # where a point or its mirror is off the body), no TTA, averaged with the classical baseline.
    # `TrainConfig.study()` is the 2019 study's full recipe (fine-tuning included).

    # --- model ---
    arch: str = option("efficientnet_lite0", "architecture name (see `thermocad models`)")
    pretrained: bool = option(True, "start from ImageNet weights (--no-pretrained: random)")
    weights: str | None = option(None, "start from this weights file (.safetensors or state_dict)")
    ensemble: str = option("baseline", "baseline: P(Sick) is the mean of the CNN and the "
                           "classical baseline fitted on the same patients; none: the CNN alone",
                           ENSEMBLES, cli="train")  # fmt: skip

    # --- input ---
    size: int | None = option(320, "input size in pixels (the study's recipe: the "
                              "architecture's own: 224; efficientnet_lite1 240, lite2 260)",
                              minimum=16, maximum=1024)  # fmt: skip
    norm: str = option("relative", "temperature window: relative (norm_width degrees centred "
                       "on the body's median), robust (per-image percentiles: for 8/16-bit "
                       "images), or intensity (8/16-bit levels)", NORMS)  # fmt: skip
    norm_width: float = option(Normalization.width, "relative window's width in degrees C",
                               minimum=0.5)  # fmt: skip
    # "asymmetry": the map minus its left/right mirror, as one grey image; "temperature": the
    # map itself. Both together mix in the body's first layer (measured worse,
    # experiments/records/decisions.md).
    channels: tuple[str, ...] = option(("asymmetry",), "input channels", CHANNELS)
    crop: str = option("breasts", "breasts: the chest box; none: the whole frame (with "
                       "--channels temperature --background keep)", CROPS)  # fmt: skip
    marker: str = option("remove", "remove: mask the calibration marker; keep: leave it in view",
                         MARKERS)  # fmt: skip
    # "symmetric": no asymmetry where a point or its mirror is off the body (the outline's
    # offset measures where the woman stood); "keep": as recorded (see transforms).
    background: str = option("symmetric", "symmetric: no asymmetry where a point or its mirror "
                             "is off the body; keep: as recorded", BACKGROUNDS)  # fmt: skip

    # --- the default recipe: a head on precomputed features of the frozen body ---
    lr: float | None = option(1e-2, "head learning rate, above 0 (--lr-find: lr_find's suggestion, "
                              "for the head and frozen stages; the unfrozen stage keeps --lrs)",
                              cli="train")  # fmt: skip
    batch_size: int = option(8, "images per batch (as the study)", minimum=2)
    head_epochs: int = option(30, "epochs of the head stage, on the frozen body's features "
                              "computed once", minimum=0, cli="train")  # fmt: skip
    # Augmented copies averaged at validation. Off by default: the default head trains on
    # features of un-augmented images only, so augmented views are new to it (measured worse,
    # again on the fixed augmentation: experiments/records/decisions.md); the study's recipe,
    # which trains on augmented images, uses 4.
    # At most 32, as model.json allows (models/meta.py): each copy is a forward pass.
    tta: int = option(0, "augmented copies averaged at validation: the 2019 study's recipe (4), "
                      "kept to reproduce it; measured worse for the default "
                      "(experiments/records/decisions.md)", minimum=0, maximum=32,
                      cli="train")  # fmt: skip
    seed: int = option(0, "random seed")

    # --- the study's recipe: frozen and unfrozen SGDR stages on augmented images ---
    frozen_cycles: int = option(0, "SGDR cycles with a frozen body on augmented images: the "
                                "2019 study's recipe (2), kept to reproduce it; that recipe "
                                "measured worse than the default "
                                "(experiments/records/decisions.md)", minimum=0,
                                cli="train")  # fmt: skip
    cycles: int = option(0, "unfrozen SGDR cycles with differential lrs: the 2019 study's "
                         "recipe (3), kept to reproduce it; measured worse for the default "
                         "(experiments/records/decisions.md)", minimum=0, cli="train")  # fmt: skip
    cycle_len: int = option(1, "epochs of the first SGDR cycle", minimum=1, cli="train")
    cycle_mult: int = option(2, "each unfrozen SGDR cycle this many times longer (the frozen "
                             "stage's cycles are equal)", minimum=1, cli="train")  # fmt: skip
    lrs: tuple[float, ...] = option((1e-4, 1e-3, 1e-2), "the unfrozen stage's lrs (--cycles, "
                                    "the 2019 study's, kept to reproduce it): early body, late "
                                    "body, head (three values, or one for all three), each "
                                    "above 0", cli="train")  # fmt: skip
    augmentation: Augmentation = option(None, "augmentation of training images", cli=None,
                                        factory=Augmentation)  # fmt: skip

    # --- debugging ---
    lr_find_iters: int = option(100, "iterations of lr_find", minimum=1, cli=None)
    max_batches: int | None = option(None, "stop each epoch early (smoke runs)", minimum=1,
                                     cli=None)  # fmt: skip

    def __post_init__(self) -> None:
        for (name, value), message in REMOVED_VALUES.items():  # measured worse: say so, by name
            if getattr(self, name) == value:
                raise ConfigError(message)
        hints = field_types()
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list) and base_type(hints[f.name])[2]:
                value = tuple(value)  # a JSON list (study config, arch_overrides) for a tuple
                object.__setattr__(self, f.name, value)
            check_field(f, hints[f.name], value)
        if not self.channels or len(set(self.channels)) != len(self.channels):
            raise ConfigError(f"channels {self.channels}: one or more of {CHANNELS}, each once")
        if len(self.lrs) not in (1, 3):  # one per layer group, or one for them all
            raise ConfigError(f"lrs: 3 learning rates (early body, late body, head) or 1 for all "
                              f"three, got {len(self.lrs)}: {list(self.lrs)}")  # fmt: skip
        if self.lr is not None and not self.lr > 0:  # 0 trains nothing
            raise ConfigError(f"lr must be above 0, got {self.lr}")
        if not all(v > 0 for v in self.lrs):  # a group at 0 would not train: as lr
            raise ConfigError(f"lrs must each be above 0, got {list(self.lrs)}")
        if self.head_epochs == 0 and self.frozen_cycles == 0 and self.cycles == 0:
            raise ConfigError("nothing to train: head_epochs, frozen_cycles and cycles are all 0")
        mirrored = [f"channels {list(self.channels)}" if "asymmetry" in self.channels else "",
                    f"background {self.background!r}" if self.background == "symmetric" else ""]  # fmt: skip
        if self.crop != "breasts" and any(mirrored):
            raise ConfigError(
                f"crop={self.crop!r} with {' and '.join(filter(None, mirrored))}: these mirror "
                "about the chest box's centre, the body's midline; on the whole frame they would "
                "mirror about the frame's centre, i.e. measure where the woman stood. Use crop "
                "'breasts', or with crop 'none' channels 'temperature' and background 'keep' "
                "(--channels temperature --background keep), as the study's recipe"
            )

    @classmethod
    def study(cls, **overrides: Any) -> TrainConfig:
        """The 2019 study's recipe: whole frame at the architecture's own size (224 px; lite1 240,
        lite2 260), head, frozen and unfrozen SGDR stages."""
        base = dict(size=None, head_epochs=1, frozen_cycles=2, cycles=3, channels=("temperature",),
                    crop="none", marker="keep", background="keep", ensemble="none", tta=4,
                    norm="robust")  # fmt: skip
        return cls(**{**base, **overrides})

    @classmethod
    def smoke(cls, **overrides: Any) -> TrainConfig:
        """Every stage the code has (head, frozen and unfrozen cycles, TTA), tiny: 64 px, a
        couple of batches per epoch, well under a minute on CPU. A check of the code, not the
        default recipe (which trains the head alone): `fit --smoke` keeps the default's stages."""
        base = dict(size=64, batch_size=4, lr_find_iters=10, head_epochs=1, frozen_cycles=1,
                    cycles=2, tta=1, max_batches=2)  # fmt: skip
        return cls(**{**base, **overrides})

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any], **overrides: Any) -> TrainConfig:
        """A config from config.json / model.json, including those written by older versions
        (SAVED_FIELDS), or a partial one (today's defaults for the rest); `overrides`
        (command-line flags) replace fields before the whole is checked."""
        d = dict(d)
        if all(name in d for name in SAVED_FIELDS):  # a run's, maybe from before an option
            d = {**BEFORE_OPTIONS, **d}
        return cls(**{**cls.upgrade(d), **overrides})

    @classmethod
    def upgrade(cls, d: dict[str, Any]) -> dict[str, Any]:
        """The fields of `d` (config.json, model.json, a study config's `train`) as this
        version takes them: a removed option at today's behaviour is dropped and at another
        value named, norm_low..norm_high becomes norm_width, two `lrs` the three they spread to,
        an unknown name is refused."""
        d = dict(d)
        for name, today in REMOVED.items():
            if name in d and d.pop(name) != today:
                raise ConfigError(f"this config uses the removed option {name}; only "
                                  f"{name}={today!r} is supported now "
                                  "(experiments/records/decisions.md)")  # fmt: skip
        d = legacy_width(d, "norm_low", "norm_high", "norm_width")  # before norm_width
        lrs = d.get("lrs")
        if isinstance(lrs, list | tuple) and len(lrs) == 2 and all(isinstance(v, int | float) and v > 0 for v in lrs):  # fmt: skip
            # Two rates were fastai's slice(first, last) over the 3 groups: its even_mults.
            d["lrs"] = (lrs[0], (lrs[0] * lrs[1]) ** 0.5, lrs[1])
        if unknown := sorted(set(d) - (names := {f.name for f in fields(cls)})):
            raise ConfigError(unknown_names(unknown, names, "training options"))
        if isinstance(aug := d.get("augmentation"), dict):
            if wrong := sorted(set(aug) - (known := {f.name for f in fields(Augmentation)})):
                raise ConfigError("augmentation: " + unknown_names(wrong, known, "options"))
            d["augmentation"] = Augmentation(**aug)
        return d


@cache
def field_types() -> dict[str, Any]:
    """TrainConfig's field types, resolved from their annotations."""
    return typing.get_type_hints(TrainConfig)


def base_type(hint: Any) -> tuple[type, bool, bool]:
    """(element type, optional, tuple) of a field type such as `tuple[float, ...]` or `int | None`."""
    args = typing.get_args(hint)
    optional = isinstance(hint, types.UnionType) and type(None) in args
    if optional:
        hint = next(a for a in args if a is not type(None))
    if typing.get_origin(hint) is tuple:
        return typing.get_args(hint)[0], optional, True
    return hint, optional, False


def _type_ok(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_field(f: Field, hint: Any, value: Any) -> None:
    """ConfigError when `value` is not of the field's type, not among its choices or too small."""
    kind, optional, is_tuple = base_type(hint)
    if value is None and optional:
        return
    items = value if is_tuple and isinstance(value, tuple) else (value,)
    if (is_tuple and not isinstance(value, tuple)) or not all(_type_ok(v, kind) for v in items):
        name, given = kind.__name__, isinstance(value, dict) and is_dataclass(kind)  # a dict
        hint = f": use {name}(**{value!r}) (from {kind.__module__} import {name})" if given else ""
        raise ConfigError(f"{f.name}: {value!r} is not {'a tuple of ' if is_tuple else ''}"
                          f"{name}{' or None' if optional else ''}{hint}")  # fmt: skip
    choices, minimum = f.metadata.get("choices"), f.metadata.get("minimum")
    maximum = f.metadata.get("maximum")
    bad = [v for v in items if choices and v not in choices]
    if bad:
        raise ConfigError(f"unknown {f.name} {bad[0]!r}; choose one of {', '.join(choices)}")
    if kind is float and any(isinstance(v, float) and not math.isfinite(v) for v in items):
        raise ConfigError(f"{f.name} must be a finite number, got {value!r}")
    if minimum is not None and any(v < minimum for v in items):
        raise ConfigError(f"{f.name} must be at least {minimum}, got {value!r}")
    if maximum is not None and any(v > maximum for v in items):
        raise ConfigError(f"{f.name} must be at most {maximum}, got {value!r}")


def default_of(f: Field) -> Any:
    """A field's default value (its factory called)."""
    return f.default_factory() if f.default is MISSING else f.default


# help(TrainConfig) lists every field with its default and help, as `thermocad train --help` does.
TrainConfig.__doc__ = (
    (TrainConfig.__doc__ or "")
    + "\n\nFields (default: help):\n"
    + "\n".join(
        f"    {f.name} = {default_of(f)!r}: {f.metadata.get('help', '')}"
        for f in fields(TrainConfig)
    )
)
