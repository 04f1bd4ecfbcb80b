"""The head fitted on precomputed features: the default recipe's head stage, reusable."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.training import make_split
from thermocad.training.config import TrainConfig
from thermocad.training.features import fit_head, frozen_features


def test_fit_head_separates_separable_features():
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 20)
    x = rng.normal(0, 1, (40, 8)).astype(np.float32) + 2.0 * y[:, None]
    p = fit_head(x[:30], y[:30], x[30:], TrainConfig(head_epochs=10))
    assert p.shape == (10,) and np.all((p >= 0) & (p <= 1))
    assert p[y[30:] == 1].min() > p[y[30:] == 0].max()  # clusters 2 SD apart per feature


def test_frozen_features_one_row_per_path(tmp_path):
    split = make_split(tmp_path)
    import pandas as pd
    import torch

    paths = pd.read_csv(split)["path"].tolist()[:3]
    cfg = TrainConfig(size=64, pretrained=False)
    torch.manual_seed(0)  # the same random body for both calls (pretrained=False)
    f = frozen_features(cfg, [paths[0], paths[1], paths[0], paths[2]])
    assert f.shape[0] == 4 and np.allclose(f[0], f[2])
    torch.manual_seed(0)
    once = frozen_features(cfg, paths)
    # The file after a repeated one keeps its own row (it once took the repeated file's).
    np.testing.assert_allclose(f[[0, 1, 3]], once, rtol=1e-5, atol=1e-6)
    assert not np.allclose(f[3], f[0])


def test_frozen_features_of_no_files_is_a_clear_error():
    import pytest

    from thermocad.utils.errors import ConfigError

    with pytest.raises(ConfigError, match="no files"):
        frozen_features(TrainConfig(size=64, pretrained=False), [])


def test_fewer_training_rows_than_one_batch_is_an_error_not_an_untrained_head():
    from thermocad.utils.errors import ConfigError

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 4)).astype(np.float32), np.array([0, 1] * 3 + [0])
    with pytest.raises(ConfigError, match="7 training rows, fewer than one batch of 8"):
        fit_head(x, y, x, TrainConfig(batch_size=8, head_epochs=3))
    assert fit_head(x, y, x, TrainConfig(batch_size=4, head_epochs=3)).shape == (7,)
    with pytest.raises(ConfigError, match="fit_head needs a learning rate .* got None"):
        fit_head(x, y, x, TrainConfig(batch_size=4, head_epochs=3, lr=None))  # was 1e-2 silently
    # Rows and labels that do not pair are refused (an extension review: 12 rows, 10 labels
    # trained on 10 in silence; labels as words and another width were raw errors).
    cfg = TrainConfig(batch_size=4, head_epochs=3)
    with pytest.raises(ConfigError, match=r"7 feature rows but y_train holds \(5,\)"):
        fit_head(x, y[:5], x, cfg)
    with pytest.raises(ConfigError, match="y_train must be 0 .Healthy. and 1 .Sick., got e.g. "):
        fit_head(x, np.array(["Sick", "Healthy"] * 3 + ["Sick"]), x, cfg)
    with pytest.raises(ConfigError, match=r"one width, got \(7, 4\) and \(7, 3\)"):
        fit_head(x, y, x[:, :3], cfg)


def test_fit_head_cuts_epochs_as_train_does_under_max_batches():
    """fit_head runs train()'s own head learner (recipe.head_learner): --smoke's max_batches
    cuts its epochs as it cuts train()'s (fit_head's copy of the learner ignored it)."""
    rng = np.random.default_rng(1)
    y = np.tile([0, 1], 20)
    x = rng.normal(0, 1, (40, 6)).astype(np.float32) + y[:, None]
    full = fit_head(x, y, x, TrainConfig(head_epochs=2, batch_size=4))
    cut = fit_head(x, y, x, TrainConfig(head_epochs=2, batch_size=4, max_batches=1))
    assert not np.allclose(full, cut)
    np.testing.assert_array_equal(full, fit_head(x, y, x, TrainConfig(head_epochs=2, batch_size=4)))
