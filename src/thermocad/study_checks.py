"""A study config's sections, checked against the functions they go to (pipeline.load_settings)."""

from __future__ import annotations

import inspect
from typing import Any

from thermocad.utils.errors import ConfigError


def check_sections(loaded: dict[str, Any]) -> None:
    """ConfigError naming the first key of a study config's train, arch_overrides, prepare or
    split section that the function it goes to does not take (a misspelling is not ignored)."""
    from thermocad.cohort.prepare import prepare_cohort
    from thermocad.cohort.split import make_split
    from thermocad.training.config import TrainConfig

    for section in ("train", "arch_overrides", "prepare", "split"):
        if not isinstance(loaded.get(section, {}), dict):
            raise ConfigError(f"{section}: must be a JSON object")
    archs = loaded.get("archs", [])  # [] on purpose: the baseline alone
    if not isinstance(archs, list) or not all(isinstance(a, str) and a.strip() for a in archs):
        raise ConfigError(f"archs: must be a list of architecture names, got {archs!r}")
    sections = {"train": loaded.get("train", {}), **{f"arch_overrides.{name}": fields for name,
                fields in loaded.get("arch_overrides", {}).items()}}  # fmt: skip
    for section, fields in sections.items():
        if not isinstance(fields, dict):
            raise ConfigError(f"{section}: must be a JSON object of training options")
        try:
            TrainConfig(**TrainConfig.upgrade({k: v for k, v in fields.items() if k != "arch"}))
        except ConfigError as exc:
            raise ConfigError(f"{section}: {exc}") from exc
    # Each takes its own keywords; the ones the study sets itself are not the file's to give.
    for section, fn, own in (("prepare", prepare_cohort, {"data_dir", "labels_csv", "out_dir", "force"}),
                             ("split", make_split, {"cohort_csv", "folds", "test", "seed"})):  # fmt: skip
        allowed = set(inspect.signature(fn).parameters) - own
        unknown = sorted(set(loaded.get(section, {})) - allowed)
        if unknown:
            raise ConfigError(f"{section}: unknown keys {unknown}; valid: {sorted(allowed)}")
