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
