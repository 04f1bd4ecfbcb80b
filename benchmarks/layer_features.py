"""Which depth of the frozen ImageNet body carries the signal? (issue 7)

The default recipe's body (efficientnet_lite0, frozen, ImageNet weights) sees the default
evaluation transform as it was when this was measured (marker masked, chest crop, per-image
percentile window, temperature + asymmetry channels, 320 px: `real_cv.py`'s
`chest_asym_320_ens_notta`).
Its pooled features do not depend on the fold (nothing in the body is trained), so they are
computed once for the 120 women: the final 1,280 features the default head uses, and the
globally averaged output of every block (stages of 16, 24, 40, 80, 112, 192, 320 channels).
For each seed and fold of `real_cv.py`'s splits (run it first, with that recipe), a
linear head is trained exactly as the default's (fastai, SGD momentum 0.9, lr 1e-2, 30 epochs
of SGDR, class-weighted loss, batch 8) on:
  final        the default's features (reproduces the default's CNN up to the draw order)
  blocks4-6    the pooled outputs of the three last blocks (112 + 192 + 320 channels)
  final+4-6    both
  siamese      each half of the chest through the body, the right half mirrored (a siamese
               pair with shared weights): |f_left - f_right| and (f_left + f_right) / 2
  final+siamese
Intermediate features are standardised on the training folds (they have no BN+activation
scale). Each CNN score is also averaged with the classical baseline fitted on the same
training patients (real_cv.py's `baseline` recipe: the default's other half).

    .venv/bin/python benchmarks/layer_features.py --cv /tmp/real_cv --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from fastai.losses import CrossEntropyLossFlat
from fastai.torch_core import set_seed
from sklearn.base import clone

from real_cv import paired_difference, scores, summary
from thermocad.models.registry import create_model, get_arch
from thermocad.training.config import TrainConfig
from thermocad.training.data import load_maps
from thermocad.training.recipe import body_features, feature_dls, fit_schedule, make_learner
from thermocad.training.run import eval_transform


def block_features(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Global-average-pooled output of every block, then the final pre-logits features."""
    out = []
    with torch.inference_mode():
        h = model.bn1(model.conv_stem(x))
        for block in model.blocks:
            h = block(h)
            out.append(h.mean((2, 3)))
        out.append(model.forward_head(model.bn2(model.conv_head(h)), pre_logits=True))
    return out


def cv_setup(doc: str) -> tuple[argparse.Namespace, list[str]]:
    """The command line of the feature benchmarks (--cv, --seeds) and the cohort's usable files."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--cv", type=Path, required=True, help="real_cv.py's --out folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(2)
    cohort = pd.read_csv(args.cv / "cohort" / "cohort.csv")
    return args, cohort.loc[cohort["excluded_reason"].isna(), "path"].tolist()


def prepared(cfg: TrainConfig, paths: list[str]):
    """The evaluation transform of `cfg` and every file prepared by it (the body's inputs)."""
    transform = eval_transform(cfg, get_arch(cfg.arch))
    maps, _ = load_maps(paths, transform)
    return transform, maps


def features(cfg: TrainConfig, paths: list[str]) -> np.ndarray:
    """The frozen body's pooled features of every file, prepared by `cfg`'s transform."""
    transform, maps = prepared(cfg, paths)
    model = create_model(cfg.arch, True, transform.in_chans, 2)
    return body_features(model, maps, transform.finish, 16).numpy()


def all_features(cfg: TrainConfig, paths: list[str]) -> dict[str, np.ndarray]:
    transform, maps = prepared(cfg, paths)
    model = create_model(cfg.arch, True, transform.in_chans, 2).eval()
    parts, sides = [], []
    for i in range(0, len(maps), 16):
        x = transform.finish(torch.from_numpy(maps[i : i + 16])[:, None])
        parts.append([f.numpy() for f in block_features(model, x)])
        # Siamese: each half of the chest, the right one mirrored onto the left, through the
        # same body (its asymmetry channel: this side minus the mirrored other side).
        half = x.shape[-1] // 2
        with torch.inference_mode():
            left, right = (model.forward_head(model.forward_features(h), pre_logits=True)
                           for h in (x[..., :half], x[..., half:].flip(-1)))  # fmt: skip
        sides.append(torch.cat([(left - right).abs(), (left + right) / 2], 1).numpy())
    feats = [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
    return {
        "final": feats[-1],
        "siamese": np.concatenate(sides),
        **{f"block{k}": f for k, f in enumerate(feats[:-1])},
    }


def train_head(x_tr, y_tr, x_va, y_va, seed: int, make_head=None) -> np.ndarray:
    """The default's head stage on given features: P(Sick) on the validation rows.
    The head is linear unless `make_head(n_features)` builds another (after the seed is set)."""
    set_seed(seed, reproducible=True)
    counts = np.bincount(y_tr, minlength=2)
    weight = torch.tensor(counts.sum() / (2 * counts), dtype=torch.float32)
    dls = feature_dls(
        torch.from_numpy(x_tr), y_tr, torch.from_numpy(x_va), y_va, 8, torch.device("cpu")
    )
    head = (make_head or (lambda n: torch.nn.Linear(n, 2)))(x_tr.shape[1])
    with tempfile.TemporaryDirectory() as work:
        learn = make_learner(dls, head, CrossEntropyLossFlat(weight=weight), None, Path(work))
        fit_schedule(learn, 1e-2, "sgdr", 1, 30, 1, [])
        probs, _ = learn.get_preds(dl=dls.valid.new(shuffled=False, drop_last=False))
    return probs[:, 1].float().numpy()


def standardise(train: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(0), train.std(0) + 1e-6
    return ((train - mean) / std).astype(np.float32), ((valid - mean) / std).astype(np.float32)


def fold_heads(
    cv: Path,
    seeds: list[int],
    feats: dict[str, np.ndarray],
    paths: list[str],
    variants: dict[str, tuple[list[str], list[str], object]],
) -> tuple[pd.DataFrame, dict]:
    """For every seed and fold of real_cv.py's splits, a head per variant, trained on the
    training patients' features: (raw keys, keys standardised on the training folds, head
    factory or None for linear, or a scikit-learn classifier fitted instead). Returns the
    scores table and the predictions of each variant, alone and averaged with the baseline
    fitted on the same training patients."""
    index = {p: i for i, p in enumerate(paths)}
    rows, preds = [], {}
    for seed in seeds:
        split = pd.read_csv(cv / f"split_seed{seed}.csv")
        baseline = pd.read_csv(
            cv / "baseline" / f"seed{seed}" / "baseline" / "valid_predictions.csv"
        )
        out = {name: [] for name in variants}
        for fold in sorted(split["fold"].unique()):
            tr, va = split[split["fold"] != fold], split[split["fold"] == fold]
            i_tr, i_va = tr["path"].map(index).to_numpy(), va["path"].map(index).to_numpy()
            y_tr = (tr["label"] == "Sick").to_numpy(np.int64)
            y_va = (va["label"] == "Sick").to_numpy(np.int64)
            for name, (raw, scaled, make_head) in variants.items():
                xs_tr, xs_va = [feats[k][i_tr] for k in raw], [feats[k][i_va] for k in raw]
                for k in scaled:
                    a, b = standardise(feats[k][i_tr], feats[k][i_va])
                    xs_tr.append(a)
                    xs_va.append(b)
                x_tr, x_va = np.hstack(xs_tr), np.hstack(xs_va)
                if hasattr(make_head, "predict_proba"):  # a scikit-learn classifier
                    p = clone(make_head).fit(x_tr, y_tr).predict_proba(x_va)[:, 1]
                else:
                    p = train_head(x_tr, y_tr, x_va, y_va, seed, make_head)
                out[name].append(va.assign(prob=p))
        base = baseline.set_index("patient_id")["prob"]
        for name, parts in out.items():
            cnn = pd.concat(parts)
            cnn["y"] = (cnn["label"] == "Sick").astype(int)
            ens = cnn.assign(prob=(cnn["prob"] + cnn["patient_id"].map(base)) / 2)
            for label, pred in ((name, cnn), (f"{name}+baseline", ens)):
                rows.append({"recipe": label, "seed": seed, **scores(pred)})
                preds.setdefault(label, []).append(pred)
    return pd.DataFrame(rows), preds


def report(table: pd.DataFrame, preds: dict, ref: str) -> None:
    """The scores table, then each variant's paired AUC difference to variant `ref`."""
    print(summary(table, preds))
    print()
    print(f"| variant | AUC - {ref} (95% CI) | batch A: AUC - {ref} (95% CI) |")
    print("|---|---|---|")
    for name in preds:
        if name in (ref, f"{ref}+baseline"):
            continue
        other = f"{ref}+baseline" if name.endswith("+baseline") else ref
        d = paired_difference(preds[name], preds[other])
        cell = lambda v: f"{v[0]:+.3f} ({v[1]:+.3f} to {v[2]:+.3f})"  # noqa: E731
        print(f"| {name} - {other} | {cell(d['all'])} | {cell(d['A'])} |")


def main() -> None:
    args, paths = cv_setup(__doc__)
    # The default's inputs when this was measured: per-image window, both channels.
    cfg = TrainConfig(norm="robust", channels=("temperature", "asymmetry"), background="keep")
    feats = all_features(cfg, paths)
    variants = {
        "final": (["final"], [], None),
        "blocks4-6": ([], ["block4", "block5", "block6"], None),
        "final+4-6": (["final"], ["block4", "block5", "block6"], None),
        "siamese": (["siamese"], [], None),
        "final+siamese": (["final", "siamese"], [], None),
    }
    report(*fold_heads(args.cv, args.seeds, feats, paths, variants), ref="final")


if __name__ == "__main__":
    main()
