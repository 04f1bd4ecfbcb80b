"""The experiments stay runnable: real_cv's recipes are valid configs, every script imports."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from thermocad.training.config import TrainConfig
from thermocad.utils.errors import ConfigError

EXPERIMENTS = REPO / "experiments"


def load(name: str, *needs: str) -> ModuleType:
    """experiments/NAME.py as a module; the harness and the scripts it imports (`needs`, in
    order) are registered first under their names (a script run from the command line finds
    them beside itself)."""
    for module in ("harness", *needs, name):
        if module not in sys.modules:
            spec = importlib.util.spec_from_file_location(module, EXPERIMENTS / f"{module}.py")
            sys.modules[module] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(sys.modules[module])
    return sys.modules[name]


real_cv = load("real_cv")


# One interpreter for every script, started in experiments/ so that `-c` finds their shared
# modules there as a script run from that folder does: the heavy imports are paid once.
HELP_ALL = """
import contextlib, io, json, runpy, sys
folder, names = sys.argv[1], sys.argv[2:]
failed = {}
for name in names:
    out = io.StringIO()
    sys.argv = [name, "--help"]
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(f"{folder}/{name}", run_name="__main__")
        failed[name] = "no SystemExit from --help"
    except SystemExit as exc:
        if exc.code not in (0, None) or "usage:" not in out.getvalue():
            failed[name] = f"exit {exc.code}: {out.getvalue()[-500:]}"
    except BaseException as exc:
        failed[name] = repr(exc)[-2000:]
print(json.dumps(failed))
"""


@pytest.mark.slow
@pytest.mark.train
def test_every_experiment_imports_and_gives_help():
    scripts = sorted(p.name for p in EXPERIMENTS.glob("*.py") if p.name != "harness.py")
    assert len(scripts) > 20
    run = subprocess.run([sys.executable, "-c", HELP_ALL, str(EXPERIMENTS), *scripts],
                         cwd=EXPERIMENTS, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    failed = json.loads(run.stdout.strip().splitlines()[-1])
    assert not failed, failed


def test_removed_recipes_are_refused_with_the_option_named():
    for name, recipe in real_cv.REMOVED_RECIPES.items():
        # ConfigError for a removed value, TypeError for a removed keyword: either names it.
        with pytest.raises((ConfigError, TypeError)) as refused:
            TrainConfig(**recipe)
        removed = [
            k for k in recipe if f"'{k}'" in str(refused.value) or f"{k}=" in str(refused.value)
        ]
        assert removed, f"{name}: {refused.value}"
        assert name not in real_cv.RECIPES


@pytest.mark.parametrize("name", [n for n, r in real_cv.RECIPES.items() if r is not None])
def test_every_recipe_is_a_valid_config(name):
    recipe = dict(real_cv.RECIPES[name])
    recipe.pop("arch", None)
    TrainConfig(**recipe)  # raises on an unknown option or value


def test_the_default_recipe_is_train_configs_default():
    """real_cv's name for the default must describe what `thermocad train` does."""
    recipe = real_cv.RECIPES["chest_asymonly_320_ens_notta_relative_symmetric"]
    default = TrainConfig()
    for key, value in recipe.items():
        assert getattr(default, key) == value, key


def test_derived_recipes_name_existing_sources():
    for name, (cnns, baseline, *_) in real_cv.DERIVED.items():
        for source, _column in cnns + ([baseline] if baseline else []):
            assert source in real_cv.RECIPES, (name, source)


def _preds(prob_cnn, prob_baseline):
    return pd.DataFrame(
        {"path": ["a", "b"], "prob_cnn": prob_cnn, "prob_baseline": prob_baseline, "prob": 0.0}
    )


def test_derive_means_of_probabilities_and_of_log_odds():
    source = "chest_asymonly_320_ens_notta_relative"
    preds = {source: [_preds([0.9, 0.2], [0.5, 0.2])]}
    mean = real_cv.derive("lite012_chest_asymonly_320_ens_notta_relative", {
        **preds, **{f"lite{k}_{source}": [_preds([0.9, 0.2], [0.0, 0.0])] for k in (1, 2)}
    })[0]  # fmt: skip
    assert np.allclose(mean["prob"], [(0.9 + 0.5) / 2, 0.2])
    logit = real_cv.derive(f"{source}_logit", preds)[0]
    # Mean log-odds of 0.9 and 0.5 is log(9) / 2: odds 3, probability 0.75; equal inputs stay.
    assert np.allclose(logit["prob"], [0.75, 0.2])


def _endpoints(period_auc, specificity):
    return {"served": {"patient": {"specificity": specificity},
                       "by_period": {"subsets": {"period-matched": {"roc_auc": period_auc}}}}}  # fmt: skip


def test_the_new_women_rule_is_the_one_written_down():
    """next_steps.md: default_theta replaces the default only with period-matched AUC + 0.03 and
    a specificity no lower; without a period-matched subset nothing changes."""
    verdict = load("new_women_check", "nested_default", "dimensionless_temperature").verdict
    assert verdict(_endpoints(0.70, 0.80), _endpoints(0.73, 0.80)).startswith("default_theta")
    assert verdict(_endpoints(0.70, 0.80), _endpoints(0.729, 0.90)).startswith("nothing changes")
    assert verdict(_endpoints(0.70, 0.80), _endpoints(0.90, 0.79)).endswith("(lower)")
    assert "cannot decide" in verdict(_endpoints(None, 0.8), _endpoints(None, 0.9))


@pytest.mark.train
def test_the_new_women_check_stops_before_training_on_a_faulty_folder(tmp_path, monkeypatch):
    """A labelled new woman without a file stops the check in one line before anything trains
    (--allow-unscored scores the others); a second run into the same OUT needs --force."""
    from thermocad.synth.cohort import generate_cohort

    check = load("new_women_check", "nested_default", "dimensionless_temperature")
    labels = generate_cohort(tmp_path / "new", n_patients=4, seed=1, height=64, width=80)
    table = pd.read_csv(labels)
    table = pd.concat([table, table.iloc[[0]].assign(patient_id=999)]).to_csv(index=False)
    (tmp_path / "labels.csv").write_text(table)
    monkeypatch.setattr(check, "fit", lambda *a, **k: pytest.fail("trained before the check"))
    argv = ["x", "--dev", str(tmp_path), "--dev-labels", str(labels), "--new",
            str(tmp_path / "new"), "--new-labels", str(tmp_path / "labels.csv"), "--out",
            str(tmp_path / "out")]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit, match=r"^new_women_check: error: .*patient 999 .*no file"):
        check.main()
    (tmp_path / "out" / "default").mkdir()
    with pytest.raises(SystemExit, match=r"already holds a check: --force runs it again"):
        check.main()


def test_the_harness_keeps_youdens_rule_for_the_records_older_tables():
    """thermocad chooses its threshold by a target sensitivity only; the experiments keep
    Youden's J (harness.youden_threshold) to reproduce the tables measured with it."""
    from tests.evaluation.test_metrics import P, Y
    from thermocad.evaluation.thresholds import NOISE_MARGIN as m

    harness = sys.modules["harness"]
    # J = sens + spec - 1: 0.9 -> 0.25, 0.8 -> 0.5, 0.6 -> 0.583, 0.3 -> 0.667 (the best)
    assert harness.youden_threshold(Y, P) == pytest.approx(0.3 - m, abs=1e-12)
    assert harness.youden_threshold([1, 1], [0.2, 0.3]) == 0.5  # one class
    # No J above 0 and a score of 1: calling nobody Sick is not storable (0..1), so the best
    # storable point calls every woman Sick.
    y, p = [0, 0, 1, 1], [1.0, 0.9, 0.2, 0.1]
    t = harness.youden_threshold(y, p)
    assert 0 <= t <= 1 and (np.array(p) >= t).all()
    pred = pd.DataFrame({"fold": [0] * 4 + [1] * 4, "y": [0, 1] * 4,
                         "prob": [0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6]})  # fmt: skip
    assert harness.fold_thresholds(pred).notna().all()  # Youden's per fold, as real_cv scores
