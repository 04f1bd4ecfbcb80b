"""The room stress test: re-rendering a thermogram in another room, and scoring Healthy women so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from thermocad.evaluation.room import T_CORE, in_room, room_stress, stress_rooms
from thermocad.preprocess.regions import room_temperature


def _thermogram(room: float = 22.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    array = room + rng.normal(0, 0.05, (60, 80))
    array[10:55, 20:60] = 33.0 + rng.normal(0, 0.5, (45, 40))
    return array.astype(np.float32)


def test_in_room_keeps_theta_and_moves_the_background(monkeypatch):
    array = _thermogram(22.0)
    own = room_temperature(array)
    warm = in_room(array, 26.0)
    assert room_temperature(warm) == pytest.approx(26.0, abs=0.01)
    theta = (array - own) / (T_CORE - own)
    np.testing.assert_allclose((warm - 26.0) / (T_CORE - 26.0), theta, atol=1e-5)
    body = warm[10:55, 20:60].std() / array[10:55, 20:60].std()
    assert body == pytest.approx((T_CORE - 26.0) / (T_CORE - own), rel=1e-3)  # contrast shrinks
    np.testing.assert_allclose(in_room(array, own), array, atol=1e-5)  # its own room: unchanged
    # A body that fills the frame leaves no room to read (room_temperature says None).
    monkeypatch.setattr("thermocad.preprocess.regions.room_temperature", lambda a, mask=None: None)
    with pytest.raises(ValueError, match="fills the frame"):
        in_room(array, 24.0)


def test_stress_rooms_are_the_10th_and_90th_percentile():
    assert stress_rooms(pd.Series(np.linspace(20.0, 30.0, 101))) == (21.0, 29.0)


def test_room_stress_scores_each_healthy_woman_in_two_rooms(run_dir, tmp_path):
    from thermocad.cohort.prepare import prepare_cohort
    from thermocad.synth.cohort import generate_cohort

    labels = generate_cohort(tmp_path / "data", 30, seed=4, height=64, width=80)
    prepare_cohort(tmp_path / "data", labels, tmp_path / "cohort", workers=1)
    oof = pd.read_csv(tmp_path / "cohort" / "cohort.csv")
    oof = oof.assign(fold=np.arange(len(oof)) % 2, prob=0.3)
    n_healthy = int((oof["label"] == "Healthy").sum())
    stress = room_stress(oof, lambda k: run_dir, threshold=0.5, rooms=(20.0, 26.0))
    assert stress["n_healthy"] == n_healthy >= 10
    assert stress["own"] == {"mean_prob": pytest.approx(0.3), "called_sick": 0}
    assert [r["room"] for r in stress["rooms"]] == [20.0, 26.0]
    for r in stress["rooms"]:
        assert 0 <= r["mean_prob"] <= 1 and 0 <= r["called_sick"] <= n_healthy
    # Nothing to stress: no room column, images rather than temperatures, too few, no model.
    assert room_stress(oof.drop(columns="room_median"), lambda k: run_dir, 0.5) is None
    assert room_stress(oof.assign(unit="intensity"), lambda k: run_dir, 0.5) is None
    assert room_stress(oof.head(8), lambda k: run_dir, 0.5) is None
    # Rooms within 0.1 °C of each other (copies of one frame): one room twice, nothing to
    # stress; it had crashed fit at its end (two columns of one name).
    assert room_stress(oof.assign(room_median=22.0), lambda k: run_dir, 0.5) is None
    # Several images per woman count once: her P(Sick) is their mean.
    twice = pd.concat([oof, oof.assign(prob=0.5)], ignore_index=True)
    again = room_stress(twice, lambda k: run_dir, threshold=0.5, rooms=(20.0, 26.0))
    assert again["n_healthy"] == n_healthy and again["own"]["mean_prob"] == pytest.approx(0.4)
    for a, b in zip(again["rooms"], stress["rooms"], strict=True):  # the same images twice
        assert a["called_sick"] == b["called_sick"]
        assert a["mean_prob"] == pytest.approx(b["mean_prob"], abs=1e-5)
    assert room_stress(oof, lambda k: tmp_path / "missing", 0.5) is None
