"""A fast path for cross-validations of a recipe that trains only a linear head on frozen features.

With no frozen, unfrozen or TTA stage (the default recipe), a run's CNN is
the frozen ImageNet body plus a head fitted on its pooled features, and those features do not
depend on which women train the head. So a nested cross-validation computes them once per file
(`training.features.frozen_features`) and fits each fold's head in seconds (`fit_head`, the
same head stage as `train()`), instead of one `train()` per fold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd

from thermocad.io.labels import with_y


def head_only(config: Any) -> bool:
    """True when `train()` with this config fits only the head on precomputed features."""
    from thermocad.training.config import TrainConfig

    return (
        isinstance(config, TrainConfig)
        and config.cycles == 0
        and config.frozen_cycles == 0
        and config.tta == 0
        and config.lr is not None  # no lr_find: it would look at each fold's own data
        and config.max_batches is None
    )


class HeadRuns:
    """Per architecture: frozen features of every file, computed once; a head per fold."""

    def __init__(self, config: Any, overrides: dict[str, dict] | None, paths: Sequence[str]):
        self.config, self.overrides, self.paths = config, overrides or {}, list(paths)
        self._features: dict[str, pd.DataFrame] = {}

    def config_for(self, arch: str):
        changes = {"arch": arch, **self.overrides.get(arch, {}), "ensemble": "none"}
        return dataclasses.replace(self.config, **changes)

    def applies(self, arch: str) -> bool:
        return head_only(self.config) and head_only(self.config_for(arch))

    def features(self, arch: str) -> pd.DataFrame:
        if arch not in self._features:
            from thermocad.evaluation.trained_files import check_weights_apart
            from thermocad.training.features import frozen_features

            if weights := self.config_for(arch).weights:  # every path is scored in some fold
                check_weights_apart(weights, self.paths, "the nested cross-validation")
            feats = frozen_features(self.config_for(arch), self.paths)
            self._features[arch] = pd.DataFrame(feats, index=self.paths)
        return self._features[arch]

    def predict(self, arch: str, train_rows: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
        """The head fitted on `train_rows`: P(Sick) of `rows` (with their columns and y)."""
        from thermocad.training.features import fit_head

        x = self.features(arch)
        # Copies: torch warns on the read-only views pandas may hand out.
        prob = fit_head(x.loc[train_rows["path"]].to_numpy(copy=True),
                        with_y(train_rows)["y"].to_numpy(copy=True),
                        x.loc[rows["path"]].to_numpy(copy=True), self.config_for(arch))  # fmt: skip
        return with_y(rows).assign(prob=prob)

    def out_of_fold(self, arch: str, split_df: pd.DataFrame) -> pd.DataFrame:
        """Fold k predicted by a head fitted on the other folds, over every fold."""
        parts = [
            self.predict(arch, split_df[split_df["fold"] != k], split_df[split_df["fold"] == k])
            .assign(fold=int(k))
            for k in sorted(split_df["fold"].unique())
        ]  # fmt: skip
        return pd.concat(parts, ignore_index=True)
