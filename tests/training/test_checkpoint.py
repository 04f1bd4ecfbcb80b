"""Checkpoints: progress and weights stay paired when a save is cut short."""

from __future__ import annotations

import torch

from thermocad.training.checkpoint import WEIGHT_FILES, Checkpoint


def test_a_save_killed_between_weights_and_progress_resumes_from_the_pair_before(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    ckpt = Checkpoint(tmp_path)
    ckpt.state["done"]["head"] = 1
    ckpt.save(model)  # epoch 1: weights and progress
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)  # epoch 2 trained...
    other = WEIGHT_FILES[1] if ckpt.state["weights"] == WEIGHT_FILES[0] else WEIGHT_FILES[0]
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(ckpt.dir / other))
    # ...its weights written, then killed before its progress: state.json still says epoch 1.
    resumed = Checkpoint(tmp_path)
    resumed.read_state()
    fresh = torch.nn.Linear(3, 2)
    resumed.load_weights(fresh)
    assert resumed.state["done"] == {"head": 1}
    for name, value in fresh.state_dict().items():
        assert torch.equal(value, saved[name])  # epoch 1's weights, not epoch 2's
    # The next save goes to the other file and the progress names it.
    ckpt.save(model)
    assert ckpt.state["weights"] == other


def test_a_checkpoint_whose_weights_are_gone_is_refused_not_resumed_on_a_fresh_network(tmp_path):
    import pytest

    from thermocad.utils.errors import ConfigError

    model = torch.nn.Linear(3, 2)
    ckpt = Checkpoint(tmp_path)
    assert not ckpt.saved_weights()  # nothing saved yet: a resume builds a fresh network
    ckpt.state["done"]["head"] = 1
    ckpt.save(model)
    (ckpt.dir / ckpt.state["weights"]).unlink()  # deleted by hand, or a disk cleaner
    resumed = Checkpoint(tmp_path)
    resumed.read_state()
    assert resumed.saved_weights()
    # Its finished stages would be skipped on random weights, the run called pretrained.
    with pytest.raises(ConfigError, match="checkpoint's weights are missing"):
        resumed.load_weights(torch.nn.Linear(3, 2))
