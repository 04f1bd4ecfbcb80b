"""The frozen body's features, kept for the process. A prepared map's features do not depend on
which women train the head, so a comparison's folds, `fit`'s folds and its final model, and
the nested fast path all ask the same pretrained body for the same maps: each is computed once
(the demo computed each 3 to 5 times per architecture, about half its time). Kept by the
body's weights (every tensor but the classifier's) and its layers as printed, the transform
that finishes the input, the device and the map's bytes; at most MAX_BYTES of them.

The first computation of a map is the one an uncached run makes; later ones reuse it instead
of computing it again in other batches. On the 2-core CPU the features came out the same bit
for bit whatever the batch (16 or 32, shuffled), and `fit`'s weights stayed byte-identical
(docs/benchmarks.md); on other hardware a batch's composition may move the last bits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported by the callers (training.recipe) before any call here
    import torch
    from torch import nn

MAX_BYTES = 256 * 2**20  # the oldest rows go first beyond it (50,000 rows of 1280 floats)
_ROWS: dict[tuple[str, str], torch.Tensor] = {}
_SIZE = [0]  # the rows' bytes


def cached_features(model: nn.Module, maps: np.ndarray, finish: Callable, batch_size: int,
                    compute: Callable[[np.ndarray], torch.Tensor]) -> torch.Tensor:  # fmt: skip
    """`compute(maps[batch])`'s rows for every map, `batch_size` maps at a time, each computed
    only where this process has not computed it for the same body and transform before. A
    `finish` that is not a transform's own (nothing to key it by) is never cached."""
    import torch

    key = _body_key(model, finish)
    if key is None:
        return torch.cat(
            [compute(maps[i : i + batch_size]) for i in range(0, len(maps), batch_size)]
        )
    digests = [hashlib.sha1(np.ascontiguousarray(m).tobytes()).hexdigest() for m in maps]
    rows = [_ROWS.get((key, d)) for d in digests]
    todo = [i for i, row in enumerate(rows) if row is None]
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        for i, row in zip(batch, compute(maps[batch]), strict=True):
            rows[i] = _ROWS[(key, digests[i])] = row.clone()
            _SIZE[0] += row.numel() * row.element_size()
    while _SIZE[0] > MAX_BYTES and _ROWS:
        old = _ROWS.pop(next(iter(_ROWS)))
        _SIZE[0] -= old.numel() * old.element_size()
    return torch.stack(rows) if rows else torch.empty(0)


def _body_key(model: nn.Module, finish: Callable) -> str | None:
    """The body's weights (the classifier left out: it is what the head stage trains), its
    layers as printed (class, pooling and every layer's settings), the transform `finish`
    belongs to and the device, as one digest; None for another callable."""
    import torch

    transform = getattr(finish, "__self__", None)
    if transform is None or not hasattr(transform, "__dataclass_fields__"):
        return None
    heads = model.get_classifier()  # a distilled model's is a pair
    skip = {id(t) for head in (heads if isinstance(heads, tuple) else (heads,))
            for t in head.parameters()}  # fmt: skip
    digest = hashlib.sha256(repr(transform).encode())
    digest.update(repr(model).encode())
    digest.update(str(next(model.parameters()).device.type).encode())
    for name, tensor in model.state_dict(keep_vars=True).items():
        if id(tensor) in skip:
            continue
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy())
    return digest.hexdigest()


def clear() -> None:
    """Forget every kept row (tests; a notebook that wants the memory back)."""
    _ROWS.clear()
    _SIZE[0] = 0
