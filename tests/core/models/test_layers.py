"""The speed paths compute what the plain paths compute: shared-weight gradients, one-hot gathers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from wm.core.models.layers import FeatureLinear
from wm.core.models.rssm import RSSM

pytestmark = pytest.mark.usefixtures("one_thread")


def _plain_linears(self, dtype, *names):
    return lambda name, x: self.img_stoch(x) if name == "img_stoch" else F.linear(x, getattr(self, name).weight)


def test_shared_weight_gradients_equal_autograd(tiny_model, square, monkeypatch) -> None:
    model = tiny_model({"has_rewards": True})
    batch = square(batch=3, steps=6)
    batch["rewards"] = torch.randn(3, 6)
    grads = []
    for plain in (False, True):
        if plain:
            monkeypatch.setattr(RSSM, "_linears", _plain_linears)
        model.zero_grad()
        torch.manual_seed(0)
        model.loss(batch)[0].backward()
        grads.append({name: p.grad.clone() for name, p in model.named_parameters()})
    for name, grad in grads[1].items():
        assert torch.allclose(grads[0][name], grad, rtol=1e-4, atol=1e-5), name


def test_one_hot_gather_equals_the_matrix_product() -> None:
    torch.manual_seed(0)
    layer = FeatureLinear(6, 12, 5)
    onehot = F.one_hot(torch.randint(0, 4, (3, 3)), 4).flatten(1).float()
    feat = torch.cat([torch.randn(3, 6), onehot * 0.5], -1)
    dense = feat @ layer.weight + layer.bias
    with torch.no_grad():
        assert torch.allclose(layer(feat), dense, atol=1e-6)
        assert torch.allclose(layer(feat[:1]), dense[:1], atol=1e-6)
