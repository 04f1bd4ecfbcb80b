"""utils.random_state: the caller's generators and cuDNN flags as they were, however a public
function ends (tests/test_api.py checks them around train() and load_model())."""

from __future__ import annotations

import contextlib
import random

import numpy as np
import pytest
import torch

from thermocad.utils.random_state import keeps_random_state, kept_random_state


@pytest.fixture
def cudnn_flags():
    saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


def seeded_draws() -> tuple:
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    return random.random(), np.random.random(), torch.rand(1).item()


@pytest.mark.parametrize("fails", [False, True])
def test_generators_and_cudnn_flags_come_back_however_the_block_ends(cudnn_flags, fails):
    # The caller's own flags, not training's (deterministic, no benchmark): a restore that
    # skipped them would leave training's and be seen.
    expected = seeded_draws()
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = False, True

    @keeps_random_state
    def run():  # as train() does: fastai's set_seed, then draws, then perhaps a failure
        random.seed(0), np.random.seed(0), torch.manual_seed(0)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        random.random(), np.random.random(), torch.rand(3)
        if fails:
            raise RuntimeError("a stage failed")

    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    with pytest.raises(RuntimeError) if fails else contextlib.nullcontext():
        run()
    assert (random.random(), np.random.random(), torch.rand(1).item()) == expected
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (False, True)


def test_cuda_generators_are_put_back_where_cuda_had_started(monkeypatch):
    saved = []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: ["state of GPU 0"])
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", saved.append)
    with kept_random_state():
        pass
    assert saved == [["state of GPU 0"]]


def test_a_call_in_a_worker_thread_leaves_the_process_generators_to_their_threads():
    """A service predicting in worker threads: restoring the generators there replayed the
    draws of the host's other threads. Off the main thread nothing is put back."""
    import threading

    random.seed(5)
    expected = [random.random() for _ in range(3)]
    random.seed(5)
    draws = []

    @keeps_random_state
    def call():  # the worker's call draws nothing of its own
        draws.append(random.random())  # the host's draw, made while the call runs

    worker = threading.Thread(target=call)
    worker.start()
    worker.join()
    draws += [random.random(), random.random()]
    assert draws == expected  # not the first number again
