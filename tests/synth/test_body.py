"""Tests of the synthetic body's rendering (synth/body.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from thermocad.synth.body import _grid, _silhouette, render_static
from thermocad.synth.cohort import DIFFICULTIES, sample_body


@pytest.mark.parametrize(("view", "fraction"), [("frontal", 0.03), ("left45", 0.06)])
def test_the_breasts_offset_leaves_no_step_in_the_skin(view, fraction):
    # A Sick woman's warm breast: its diffuse offset spreads beyond the outline. Drawn inside
    # a window of 1.8 radii it was cut there, a step of a fifth of the offset (0.19 C here)
    # between two pixels: a box around the breast, a cue that is not the disease.
    body = sample_body(np.random.default_rng(7), True, DIFFICULTIES["default"])
    body.posture_deg = 0.0
    height, width = 240, 320
    warm, _ = render_static(body, view, height, width)
    flat = dataclasses.replace(body, breasts=[dataclasses.replace(b, offset=0.0)
                                              for b in body.breasts])  # fmt: skip
    change = warm - render_static(flat, view, height, width)[0]
    offset = max(abs(b.offset) for b in body.breasts)
    assert offset > 0.9 and np.abs(change).max() > 0.5 * offset  # the offset shows
    x, y = _grid(height, width)
    skin = _silhouette(body, x, y, 1.0 / width)[0] == 1.0  # not the body's own edge
    across = np.abs(np.diff(change, axis=1))[skin[:, 1:] & skin[:, :-1]]
    down = np.abs(np.diff(change, axis=0))[skin[1:] & skin[:-1]]
    # Only the halo's own slope between neighbours: 0.014 of the offset frontally at this
    # size, about twice that in a lateral view (the breast foreshortened).
    assert max(across.max(), down.max()) < fraction * offset
