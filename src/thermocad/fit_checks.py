"""Checks of a `fit` before it writes anything: the labels against the data and the folds
(`check_labels`), and each fold's training images against a batch (`check_fold_size`); and
after its cross-validation, what makes its model not worth using (`cv_warnings`)."""

from __future__ import annotations

from thermocad.io.labels import CLASSES
from thermocad.utils.errors import ConfigError


def check_labels(data_dir, labels_csv, folds: int) -> None:
    """Refuse labels that do not match the data, or whose women with files are too few of a
    class for the folds, before anything is written."""
    from thermocad.cohort.prepare import check_labels_match
    from thermocad.io.labels import read_labels

    labels = read_labels(labels_csv)
    numbers = check_labels_match(data_dir, labels_csv, set(labels["patient_id"].astype(int)))
    labels = labels[labels["patient_id"].astype(int).isin(numbers)] if numbers else labels
    per_class = labels["diagnosis"].value_counts().reindex(CLASSES, fill_value=0)
    if per_class.min() < 2:  # a model of Sick against Healthy needs both, in two folds at least
        raise ConfigError(f"{labels_csv}: fit needs at least 2 women of each class; the labels "
                          f"hold {per_class['Healthy']} Healthy and {per_class['Sick']} Sick")  # fmt: skip
    if folds < 2 or folds > per_class.min():  # each fold needs a woman of each class
        raise ConfigError(f"--folds must be 2 to {per_class.min()} (the labels hold "
                          f"{per_class.min()} {per_class.idxmin()} women), got {folds}")  # fmt: skip


def check_fold_size(split, labels_csv, folds: int, batch_size: int) -> None:
    """Refuse folds whose training images are fewer than one batch (training would stop at
    its first fold), saying what fit can change: more women, or fewer folds."""
    smallest = len(split) - int(split["fold"].value_counts().max())
    if smallest < batch_size:
        fewer = " or fewer --folds" if folds > 2 else ""
        raise ConfigError(f"{labels_csv}: in {folds}-fold cross-validation a fold trains on "
                          f"{smallest} images, fewer than one batch ({batch_size}): fit needs "
                          f"more women{fewer}")  # fmt: skip


def check_temperatures(split, data_dir) -> None:
    """Refuse images (8/16-bit grey levels, `unit` intensity) before the folds: fit's recipe
    reads degrees relative to each woman's skin (a second site's 16-bit PNG export had trained
    until its first fold stopped on `--norm`, an option fit does not have)."""
    images = split.loc[split["unit"].astype(str) == "intensity", "path"]
    if len(images):
        raise ConfigError(
            f"{data_dir}: {len(images)} of {len(split)} files are 8/16-bit images (e.g. "
            f"{images.iloc[0]}), grey levels that hold no temperatures; fit's recipe needs "
            "temperatures in °C: export them as text matrices, .npy or float TIFF of °C, or train "
            "on grey levels with `thermocad train --norm intensity` (docs/training.md)"
        )


def cv_warnings(cv: dict, target: float | None = None) -> list[str]:
    """What makes the model `fit` writes not worth using, from its out-of-fold predictions: an
    AUC whose interval reaches chance (or lies below it), or a threshold that calls most
    Healthy women Sick."""
    out = []
    auc, ci = cv.get("patient_roc_auc"), cv.get("patient_roc_auc_ci") or [None, None]
    if auc is not None and ci[0] is not None and ci[1] < 0.5:
        out.append(f"out of fold the procedure scores below chance (AUC {auc:.3f}, 95% CI "
                   f"{ci[0]:.3f}-{ci[1]:.3f}): are the labels swapped?")  # fmt: skip
    elif auc is not None and ci[0] is not None and ci[0] <= 0.5:
        out.append(f"out of fold the procedure cannot be told from chance on these data (AUC "
                   f"{auc:.3f}, 95% CI {ci[0]:.3f}-{ci[1]:.3f}): the model is not useful")  # fmt: skip
    elif auc is not None and (ci[0] is None or ci[0] != ci[0]):  # a degenerate-cohorts review:
        # 2 Sick women, AUC 0.125 and no warning (the check needed an interval)
        out.append(f"out of fold the procedure's AUC ({auc:.3f}) has no interval (too few women "
                   "of a class): it is not shown better than chance, and the model is not useful")  # fmt: skip
    spec = cv.get("specificity")
    if spec is not None and spec < 0.5:
        from thermocad.evaluation.thresholds import rule_words

        out.append(f"at its threshold ({rule_words(target)} out of fold), the specificity "
                   f"is {spec:.2f}: it calls most Healthy women Sick")  # fmt: skip
    return out
