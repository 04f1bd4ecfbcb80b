"""Bilinear resizing in numpy, with the weights of torch.nn.functional.interpolate.

Each axis is resized by its own taps: output pixel i is the weighted sum of input pixels
idx[i, :] with weights w[i, :]. The taps are PyTorch's (aten/src/ATen/native/cpu/
UpSampleKernel.cpp, align_corners=False), computed in the same float32 arithmetic:
`antialias=True` is its separable triangle filter, widened by the scale when shrinking (as
PIL's); `antialias=False` is the classic two-tap bilinear with the source clamped at 0.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

Taps = tuple[np.ndarray, np.ndarray]  # (n_out, K) input indices, (n_out, K) float32 weights


@lru_cache(maxsize=256)
def aa_taps(n_in: int, n_out: int) -> Taps:
    """Taps of antialiased bilinear resizing from `n_in` to `n_out` pixels along one axis."""
    # float32, as the kernel: in float64 the taps land up to 1e-5 px elsewhere, which a
    # 16-degree edge turns into 1e-4 degrees.
    f = np.float32
    scale = f(n_in) / f(n_out)
    support = scale if scale >= 1.0 else f(1.0)  # bilinear: interp_size 2, half-width 1
    invscale = f(1.0) / scale if scale >= 1.0 else f(1.0)
    center = scale * (np.arange(n_out, dtype=f) + f(0.5))
    # astype(int) truncates toward zero, as the C++ static_cast does.
    lo = np.maximum((center - support + f(0.5)).astype(np.int64), 0)
    hi = np.minimum((center + support + f(0.5)).astype(np.int64), n_in)
    j = lo[:, None] + np.arange(int((hi - lo).max()))
    w = np.maximum(f(0.0), f(1.0) - np.abs((j.astype(f) - center[:, None] + f(0.5)) * invscale))
    w = np.where(j < hi[:, None], w, f(0.0))
    total = w.sum(axis=1, keepdims=True, dtype=f)
    w = np.where(total > 0, w / np.where(total > 0, total, f(1.0)), w)
    return _frozen(np.minimum(j, n_in - 1), w.astype(f))


@lru_cache(maxsize=256)
def linear_taps(n_in: int, n_out: int) -> Taps:
    """Taps of plain bilinear resizing (align_corners=False) along one axis."""
    # As the kernel: a float32 scale, the source index in float64, rounded to float32.
    scale = np.float64(np.float32(n_in) / np.float32(n_out))
    src = np.maximum((scale * (np.arange(n_out) + 0.5) - 0.5).astype(np.float32), 0)
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    lam = np.clip(src - i0, 0, 1).astype(np.float32)
    idx = np.stack([i0, np.minimum(i0 + 1, n_in - 1)], axis=1)
    return _frozen(idx, np.stack([1 - lam, lam], axis=1))


def _frozen(idx: np.ndarray, w: np.ndarray) -> Taps:
    idx.flags.writeable = w.flags.writeable = False  # cached: shared by every caller
    return idx, w


def resize(array: np.ndarray, size: tuple[int, int], antialias: bool = True) -> np.ndarray:
    """Resize a 2-D float array to `size` (height, width) bilinearly, as torch's interpolate."""
    a = np.asarray(array, dtype=np.float32)
    taps = aa_taps if antialias else linear_taps
    height, width = size
    # Width first, then height: the order of PyTorch's separable passes.
    if a.shape[1] != width:
        idx, w = taps(a.shape[1], width)
        a = np.einsum("hok,ok->ho", a[:, idx], w)
    if a.shape[0] != height:
        idx, w = taps(a.shape[0], height)
        a = np.einsum("okw,ok->ow", a[idx], w)
    return np.ascontiguousarray(a, dtype=np.float32)
