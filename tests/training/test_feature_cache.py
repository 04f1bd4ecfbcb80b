"""The frozen body's features kept for the process (training/feature_cache.py): each map is
computed once per body and transform, whichever fold or nested run asks again."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from thermocad.preprocess.transforms import EvalTransform
from thermocad.training import feature_cache
from thermocad.training.recipe import body_features


class Body(nn.Module):
    """A body (a convolution) and a classifier, with timm's methods body_features calls."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, 3)
        self.classifier = nn.Linear(4, 2)
        self.seen = 0  # maps the body was run on

    def forward_features(self, x):
        self.seen += len(x)
        return self.conv(x)

    def forward_head(self, x, pre_logits=False):
        return x.mean(dim=(2, 3))

    def get_classifier(self):
        return self.classifier


@pytest.fixture(autouse=True)
def empty_cache():
    feature_cache.clear()
    yield
    feature_cache.clear()


def test_each_map_is_computed_once_per_body_and_transform():
    maps = np.random.default_rng(0).normal(size=(10, 8, 8)).astype(np.float32)
    finish = EvalTransform(size=8).finish
    body = Body()
    first = body_features(body, maps[:6], finish, 4)
    assert body.seen == 6
    # Another fold: four maps seen, four new; the answers are the uncached ones.
    again = body_features(body, maps[2:], finish, 4)
    assert body.seen == 6 + 4
    assert torch.equal(again[:4], first[2:])
    feature_cache.clear()
    assert torch.equal(body_features(Body(), maps[2:], finish, 3), again)
    # The classifier is what the head stage trains: a new one still reuses the body's rows.
    with torch.no_grad():
        body.classifier.weight.add_(1.0)
    before = body.seen
    body_features(body, maps[2:], finish, 4)
    assert body.seen == before
    # Another body, another transform: computed afresh.
    with torch.no_grad():
        body.conv.weight.add_(0.01)
    body_features(body, maps[:2], finish, 4)
    assert body.seen == before + 2
    body_features(body, maps[:2], EvalTransform(size=8, mean=(0.5,)).finish, 4)
    assert body.seen == before + 4


def test_a_finish_that_is_no_transforms_own_is_not_cached():
    maps = np.zeros((3, 8, 8), np.float32)
    body = Body()
    for _ in range(2):
        body_features(body, maps, lambda x: x, 2)
    assert body.seen == 6


def test_a_pooling_changed_outside_the_weights_or_a_pair_of_classifiers_is_keyed():
    """The key holds the layers as printed: a pooling set outside the weights is another body
    (a review: a max-pooled resnet was answered with the average-pooled one's features); a
    distilled model's two classifiers are left out of it, not a crash."""
    maps = np.random.default_rng(1).normal(size=(2, 8, 8)).astype(np.float32)
    finish = EvalTransform(size=8).finish
    body = Body()
    body_features(body, maps, finish, 2)
    body.conv.padding = (1, 1)  # not a weight
    body_features(body, maps, finish, 2)
    assert body.seen == 4
    pair = Body()
    pair.get_classifier = lambda: (pair.classifier, nn.Linear(4, 2))
    body_features(pair, maps + 1, finish, 2)  # maps of its own: computed, not a crash
    assert pair.seen == 2


def test_the_kept_rows_stay_under_their_byte_cap(monkeypatch):
    monkeypatch.setattr(feature_cache, "MAX_BYTES", 3 * 4 * 4)  # three rows of 4 floats
    maps = np.random.default_rng(2).normal(size=(5, 8, 8)).astype(np.float32)
    body = Body()
    body_features(body, maps, EvalTransform(size=8).finish, 5)
    assert len(feature_cache._ROWS) == 3 and feature_cache._SIZE[0] == 48
    body_features(body, maps[2:], EvalTransform(size=8).finish, 5)  # the newest three: kept
    assert body.seen == 5


def test_a_buffer_changed_or_another_device_is_another_body(monkeypatch):
    """The key holds buffers as well as weights (a BatchNorm's running statistics change
    the features), and the device (a GPU's last bits differ from the CPU's)."""
    maps = np.random.default_rng(3).normal(size=(2, 8, 8)).astype(np.float32)
    finish = EvalTransform(size=8).finish
    body = Body()
    body.norm = nn.BatchNorm2d(4).eval()
    key = feature_cache._body_key(body, finish)
    body_features(body, maps, finish, 2)
    body.norm.running_mean += 1.0  # a buffer, not a parameter
    assert feature_cache._body_key(body, finish) != key
    body_features(body, maps, finish, 2)
    assert body.seen == 4
    key = feature_cache._body_key(body, finish)
    cuda = torch.empty(0, device="meta")  # a tensor on another device, as a GPU's would be
    monkeypatch.setattr(body, "parameters", lambda: iter([cuda]))
    assert feature_cache._body_key(body, finish) != key
