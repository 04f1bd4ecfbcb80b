from types import SimpleNamespace

import pytest

pytest.importorskip("fastai")

import torch  # noqa: E402

from thermocad.training.recipe import History  # noqa: E402
from thermocad.utils.errors import TrainingDivergedError  # noqa: E402


@pytest.mark.parametrize("training", [True, False])
def test_a_loss_gone_nan_is_one_line_naming_the_stage_and_the_rate(training):
    """A rate too high: the loss (of a training or a validation batch) turns NaN. Said in one
    line, through fastai's callback wrapper, which rewrites the messages of other errors; it
    had ended in a traceback from the AUC of NaN scores."""
    history = History([], "frozen", lambda epoch: None)
    history.learn = SimpleNamespace(loss=torch.tensor(float("nan")), training=training, epoch=0,
                                    opt=SimpleNamespace(hypers=[{"lr": 1e30}]))  # fmt: skip
    history("before_epoch")
    with pytest.raises(TrainingDivergedError) as diverged:
        history("after_batch")
    assert str(diverged.value) == (
        "training diverged: the loss became nan in stage frozen, epoch 1, at learning rate "
        "1e+30; train again with a lower --lr (`thermocad lr-find` draws the loss against it) "
        "and --force"
    )
    history.learn.loss = torch.tensor(0.7)
    history("after_batch")  # a finite loss: kept for the epoch's row when training
    assert history.losses == ([pytest.approx(0.7)] if training else [])
