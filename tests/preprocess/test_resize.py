"""The numpy bilinear resize matches torch.nn.functional.interpolate (antialias on and off)."""

from __future__ import annotations

import numpy as np
import pytest

from thermocad.preprocess.resize import aa_taps, linear_taps, resize
from thermocad.preprocess.transforms import EvalTransform, Normalization

SHAPES = [
    ((480, 640), (320, 320)),  # a DMR frame, shrunk
    ((231, 397), (320, 320)),  # a chest box: taller (enlarged) and narrower (shrunk)
    ((100, 80), (224, 224)),  # enlarged both ways
    ((320, 320), (320, 320)),  # unchanged
    ((7, 5), (3, 9)),
]


@pytest.mark.parametrize(("shape", "size"), SHAPES)
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_matches_torch(shape, size, antialias):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    a = np.random.default_rng(0).uniform(20, 36, shape).astype(np.float32)
    expected = F.interpolate(
        torch.from_numpy(a)[None, None], size=size, mode="bilinear", antialias=antialias
    )[0, 0].numpy()
    # A few float32 ulps at 36 degrees (one ulp is 3.8e-6): same taps, other summation order.
    np.testing.assert_allclose(resize(a, size, antialias), expected, rtol=0, atol=2e-5)


def test_taps_sum_to_one_and_halve_by_hand():
    # 4 -> 2 pixels, antialiased: scale 2, so output 0 centres on 1.0 and takes pixels 0..2
    # with triangle weights 1 - |j + 0.5 - 1| / 2 = 0.75, 0.75, 0.25, normalised by 1.75.
    idx, w = aa_taps(4, 2)
    assert list(idx[0][w[0] > 0]) == [0, 1, 2]
    np.testing.assert_allclose(w[0][w[0] > 0], np.array([0.75, 0.75, 0.25]) / 1.75, rtol=1e-6)
    for taps in (aa_taps, linear_taps):
        for n_in, n_out in ((640, 320), (231, 320), (5, 3)):
            np.testing.assert_allclose(taps(n_in, n_out)[1].sum(axis=1), 1.0, rtol=1e-6)


def test_finish_numpy_matches_finish():
    torch = pytest.importorskip("torch")
    transform = EvalTransform(
        size=32,
        normalization=Normalization("relative"),
        channels=("temperature", "asymmetry"),
        mean=(0.4, 0.0),
        std=(0.2, 0.1),
    )
    maps = np.random.default_rng(1).uniform(0, 1, (3, 32, 32)).astype(np.float32)
    expected = transform.finish(torch.from_numpy(maps)[:, None]).numpy()
    np.testing.assert_allclose(transform.finish_numpy(maps), expected, atol=1e-6)
