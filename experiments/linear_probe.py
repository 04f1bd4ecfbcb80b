"""A regularised linear probe instead of the default's fastai head (issue 7)

The default trains its linear head on the frozen body's 1,280 pooled features for 30 epochs
of SGDR (lr 1e-2, no weight decay chosen for the data): the training loss ends near 0.05 on
96 women, so the head fits the training folds almost perfectly. The textbook alternative for
a frozen body is a linear probe: standardised features, L2-penalised logistic regression,
class-balanced, its penalty C chosen by an inner 5-fold cross-validation on the training
patients alone (ROC AUC; one thermogram per woman, so the inner folds are patient-disjoint).
The features are the asymmetry-map default's (relative window, marker masked, chest crop,
the asymmetry map alone, 320 px), computed once for the 120 women; for each seed and fold of
`real_cv.py`'s splits (run it first with `baseline`):
  head      the default's fastai head (reproduces the default's CNN up to the draw order)
  probe     the linear probe, C from the inner cross-validation
Each CNN score is also averaged with the classical baseline fitted on the same training
patients, as the default does.

Rule written before the first run: the probe replaces the head only if, over split seeds
0-2, probe+baseline is at least 0.01 above head+baseline in batch-A AUC and no more than
0.01 below it in same-period AUC; it must then hold again over seeds 3-6.

    .venv/bin/python experiments/linear_probe.py --cv /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from harness import cv_setup, features, fold_heads, report
from thermocad.training.config import TrainConfig


def main() -> None:
    args, paths = cv_setup(__doc__)
    # The default when this was measured (the room as recorded).
    feats = {"final": features(TrainConfig(background="keep"), paths)}
    probe = make_pipeline(
        StandardScaler(),
        LogisticRegressionCV(
            Cs=np.logspace(-4, 1, 11),
            cv=StratifiedKFold(5, shuffle=True, random_state=0),
            scoring="roc_auc",
            class_weight="balanced",
            max_iter=5000,
        ),
    )
    variants = {"head": (["final"], [], None), "probe": (["final"], [], probe)}
    report(*fold_heads(args.cv, args.seeds, feats, paths, variants), ref="head")


if __name__ == "__main__":
    main()
