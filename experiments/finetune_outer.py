"""The fine-tuning recipes on the outer folds of the nested estimate (issue 17).

Two fixed recipes with nothing to choose but the threshold, so their AUC on the outer folds
of `nested_default.py` (same folds, same women) is already a nested estimate:
  study      the 2019 study's recipe, `TrainConfig.study()` through `thermocad.train`
             (whole frame at 224 px, per-image grey window, head, frozen and unfrozen SGDR
             stages, differential learning rates, TTA)
  fine_tune  plain fastai `Learner.fine_tune` (1 frozen epoch, then 5 unfrozen, one-cycle,
             Adam, fastai's defaults) on the same input
Their threshold would need inner folds (4 more trainings per outer fold), so sensitivity and
specificity are left out here.

    .venv/bin/python experiments/finetune_outer.py --out /tmp/nested --seed 0
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from thermocad.training.config import TrainConfig
from thermocad.training.run import train

HERE = Path(__file__).resolve().parent


def nested():
    import importlib.util

    spec = importlib.util.spec_from_file_location("nested_default", HERE / "nested_default.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def split_for(df: pd.DataFrame, te: np.ndarray, out: Path) -> Path:
    """split.csv with the outer fold as `valid` and every other woman as `train`."""
    split = df.assign(split="train")
    split.loc[split.index[te], "split"] = "valid"
    path = out / "split.csv"
    split.drop(columns=["y"]).to_csv(path, index=False)
    return path


def study_recipe(split_csv: Path, out: Path, seed: int) -> pd.DataFrame:
    run = train(split_csv, out / "run", TrainConfig.study(seed=seed), force=True)
    return pd.read_csv(run / "valid_predictions.csv")


def plain_fine_tune(split_csv: Path, out: Path, seed: int) -> pd.DataFrame:
    """fastai's fine_tune with its defaults on the study's input (grey, whole frame, 224 px)."""
    from fastai.learner import Learner
    from fastai.losses import CrossEntropyLossFlat
    from fastai.torch_core import set_seed

    from thermocad.models.registry import create_model, get_arch
    from thermocad.training.data import build_data
    from thermocad.training.run import eval_transform

    cfg = TrainConfig.study(seed=seed)
    set_seed(seed, reproducible=True)
    spec = get_arch(cfg.arch)
    transform = eval_transform(cfg, spec)
    data = build_data(split_csv, transform, cfg.augmentation, cfg.batch_size)
    model = create_model(cfg.arch, True, transform.in_chans, 2)
    loss = CrossEntropyLossFlat(weight=data.class_weights())
    learn = Learner(data.dls, model, loss_func=loss, splitter=spec.splitter, path=out)
    learn.fine_tune(5)
    probs, _ = learn.get_preds(dl=data.dls.valid.new(shuffled=False, drop_last=False))
    return data.valid[["path", "patient_id", "label"]].assign(prob=probs[:, 1].numpy())


RECIPES = {"study": study_recipe, "fine_tune": plain_fine_tune}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="nested_default.py's --out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    args = parser.parse_args()
    N = nested()
    df = N.cohort(args.out)
    for name in args.recipes:
        target = args.out / f"outer_{name}_seed{args.seed}.csv"
        if target.exists():
            continue
        preds = []
        for k, (_, te) in enumerate(N.folds(df, 5, args.seed)):
            with tempfile.TemporaryDirectory() as tmp:
                split_csv = split_for(df, te, Path(tmp))
                pred = RECIPES[name](split_csv, Path(tmp), args.seed)
            rows = df.iloc[te][["patient_id", "y", "acquisition_batch", "acquisition_date"]]
            preds.append(rows.merge(pred[["patient_id", "prob"]], on="patient_id")
                         .assign(outer_fold=k, candidate=name, threshold=np.nan))  # fmt: skip
            print(f"{name} fold {k} done", flush=True)
        pd.concat(preds).to_csv(target, index=False)
    for name in args.recipes:
        pred = pd.read_csv(args.out / f"outer_{name}_seed{args.seed}.csv")
        s = N.score(pred.assign(threshold=1.0))
        print(
            name, {k: tuple(round(float(x), 3) for x in s[k]) for k in ("all", "batch_a", "period")}
        )


if __name__ == "__main__":
    main()
