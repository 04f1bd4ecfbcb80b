"""Does explain's Grad-CAM map depend on what the model learned? (a model-randomisation test)

The sanity check of Adebayo et al. (NeurIPS 2018): a saliency map that barely changes when the
model's learned weights are replaced by random ones shows where the network responds at all,
not what it learned from the women. For each frame, the served model's Grad-CAM map for Sick
(`thermocad.inference.explain.gradcam`, as `explain` draws it) is compared with the map of:

- the same model with its classifier (the head `fit` trained on the women) redrawn at random,
  three draws, each weight normal with the trained weights' standard deviation;
- a cascade: the random classifier and, from the top down, the ImageNet body re-initialised
  (its last 1x1 convolution and norm, then block 6, then blocks 4-6, then every block);
- another woman's map from the trained model (the next frame in file order), the reference for
  the likeness of two maps that share only their frame's layout.

Likeness is Spearman's rank correlation over the box the network saw, both maps resized to a
40 x 40 grid, and the share of the trained map's top tenth of pixels that is in the other's top
tenth. Nothing here chooses a setting; the rule for reading it is in
experiments/records/gradcam_sanity.md, written before the run.

    .venv/bin/python experiments/gradcam_sanity.py RUN ../shared/data/dmr-ir-frontal
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from skimage.transform import resize

from thermocad.inference.explain import gradcam, seen_box
from thermocad.io.thermal import read_thermal
from thermocad.models.bundle import load_bundle

GRID = (40, 40)
DRAWS = 3
CASCADE = ("head", "conv_head", "block 6", "blocks 4-6", "all blocks")


def box_map(heat: np.ndarray, box) -> np.ndarray:
    """The map over the box the network saw, on the comparison grid."""
    top, bottom, left, right = box
    return resize(heat[top:bottom, left:right], GRID, order=1, anti_aliasing=True)


def likeness(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(Spearman rank correlation, share of a's top tenth in b's top tenth)."""
    a, b = a.ravel(), b.ravel()
    if a.std() == 0 or b.std() == 0:
        return np.nan, np.nan
    top_a = a >= np.quantile(a, 0.9)
    top_b = b >= np.quantile(b, 0.9)
    return float(spearmanr(a, b).statistic), float((top_a & top_b).sum() / top_a.sum())


def reinit(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Random weights in place: convolutions He-normal (timm's own init), norms reset."""
    for m in module.modules():
        if isinstance(m, torch.nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            with torch.no_grad():
                m.weight.normal_(0, (2.0 / fan_out) ** 0.5, generator=generator)
                if m.bias is not None:
                    m.bias.zero_()
        elif isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.reset_parameters()


def randomised(run: Path, level: str, draw: int):
    """The model with its weights randomised down to `level` of CASCADE."""
    bundle = load_bundle(run)
    model = bundle.model
    generator = torch.Generator().manual_seed(draw)
    weight = model.classifier.weight
    with torch.no_grad():
        std = float(weight.std())
        weight.copy_(torch.randn(weight.shape, generator=generator) * std)
        model.classifier.bias.zero_()
    depth = CASCADE.index(level)
    if depth >= 1:
        reinit(model.conv_head, generator)
        reinit(model.bn2, generator)
    blocks = {2: [6], 3: [4, 5, 6], 4: list(range(len(model.blocks)))}.get(depth, [])
    for i in blocks:
        reinit(model.blocks[i], generator)
    return bundle


def summary(values: list[float]) -> str:
    v = np.asarray(values, float)
    q1, med, q3 = np.nanpercentile(v, [25, 50, 75])
    return f"{med:.2f} ({q1:.2f} to {q3:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="first N frames only (a trial)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    paths = sorted(args.folder.glob("T*.txt"))[: args.limit]
    arrays = [read_thermal(p).array for p in paths]
    trained = load_bundle(args.run)
    boxes = [seen_box(trained, a) or (0, a.shape[0], 0, a.shape[1]) for a in arrays]
    maps = [box_map(gradcam(trained, a), b) for a, b in zip(arrays, boxes, strict=True)]
    rows = {"another woman (trained model)": [likeness(m, maps[(i + 1) % len(maps)])
                                              for i, m in enumerate(maps)]}  # fmt: skip
    conditions = [("head", d) for d in range(DRAWS)] + [(level, 0) for level in CASCADE[1:]]
    for level, draw in conditions:
        model = randomised(args.run, level, draw)
        name = f"random {level}" + (f", draw {draw}" if level == "head" else "")
        rows[name] = [likeness(m, box_map(gradcam(model, a), b))
                      for m, a, b in zip(maps, arrays, boxes, strict=True)]  # fmt: skip
        print(f"{name}: done", flush=True)
    print(f"\n{len(maps)} frames; median (quartiles) over frames\n")
    print("| map compared with the trained model's | Spearman | top-tenth overlap |")
    print("|---|---|---|")
    heads = [v for k, v in rows.items() if k.startswith("random head")]
    rows["random head, the three draws"] = [x for v in heads for x in v]
    for name, values in rows.items():
        rho, top = zip(*values, strict=True)
        print(f"| {name} | {summary(rho)} | {summary(top)} |")


if __name__ == "__main__":
    main()
