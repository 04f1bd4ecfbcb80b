"""Tests for the Pennes bioheat tumour signature."""

from __future__ import annotations

import numpy as np
import pytest

from thermocad.synth.bioheat import (
    TissueParams,
    peak_signal,
    surface_profile,
    tumour_surface_signal,
)


def test_insulated_surface_matches_image_source_closed_form():
    # h = 0: surface rise is P/(2 pi k) exp(-m R)/R with m = sqrt(2000/0.5) = 63.2 1/m.
    tissue = TissueParams(h=0.0)
    radii = np.array([0.0, 5.0, 20.0])
    got = surface_profile(0.02, 15.0, radii, tissue)
    r = np.hypot(radii / 1000, 0.015)
    want = 0.02 / (2 * np.pi * 0.5) * np.exp(-np.sqrt(4000.0) * r) / r
    np.testing.assert_allclose(got, want, rtol=1e-3)


def test_skin_loss_lowers_the_signal():
    radii = np.zeros(1)
    insulated = surface_profile(0.02, 15.0, radii, TissueParams(h=0.0))[0]
    assert surface_profile(0.02, 15.0, radii, TissueParams(h=12.0))[0] < insulated


def test_signal_grows_with_size_and_falls_with_depth():
    assert peak_signal(20, 20) > peak_signal(10, 20) > peak_signal(5, 20) > 0
    assert peak_signal(10, 10) > peak_signal(10, 20) > peak_signal(10, 35)


def test_magnitudes_match_the_literature_ranges():
    # Acero Mendoza et al. 2024: +0.15-0.30 C over 5-8 mm tumours; large shallow ones ~1.5 C.
    assert 0.05 < peak_signal(8, 8) < 0.4
    assert 0.5 < peak_signal(25, 16) < 2.0


def test_profile_is_radially_decreasing():
    radii, rise = tumour_surface_signal(15, 20)
    assert radii[0] == 0 and np.all(np.diff(rise) <= 1e-9)


def test_tumour_must_lie_below_the_skin():
    with pytest.raises(ValueError):
        tumour_surface_signal(20, 5)
