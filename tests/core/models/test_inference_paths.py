"""Inference paths (cached weight layouts, fast decoding) match the training paths and follow weight changes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.imagine import ImaginationEngine
from wm.core.models.layers import ConvTranspose2d, FeatureLinear, Linear
from wm.core.models.world_model import WorldModel

pytestmark = pytest.mark.usefixtures("one_thread")

FAST_TOLERANCE = 0.03  # max abs pixel difference (pixels in [0, 1]) stated by WorldModel.set_fast_decode


def test_linear_inference_equals_the_training_path() -> None:
    torch.manual_seed(0)
    layer, x = Linear(24, 40), torch.randn(3, 24)
    expected = F.linear(x, layer.weight, layer.bias)
    with torch.no_grad():
        assert torch.allclose(layer(x[:1]), expected[:1], atol=1e-6)
        assert torch.allclose(layer(x), expected, atol=1e-6)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("out, batch", [(5, 2), (16, 2), (16, 12), (5, 12)])
def test_conv_transpose_inference_equals_the_convolution(channels_last: bool, out: int, batch: int) -> None:
    """Every inference path (packed deconvolution, product and fold, the generic one) matches autograd's."""
    torch.manual_seed(0)
    layer, x = ConvTranspose2d(8, out, 4, 2, 1), torch.randn(batch, 8, 6, 6)
    if channels_last:
        layer, x = layer.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    expected = F.conv_transpose2d(x, layer.weight, layer.bias, 2, 1)
    with torch.no_grad():
        found = layer(x)
        again = layer(x[:1])  # another input shape: the packed weight is rebuilt for it
    assert found.shape == expected.shape == (batch, out, 12, 12)
    assert torch.allclose(found, expected, atol=1e-5) and torch.allclose(again, expected[:1], atol=1e-5)


def test_cached_weights_follow_optimiser_steps_and_load_state_dict() -> None:
    torch.manual_seed(0)
    layer, x = Linear(16, 8), torch.randn(1, 16)
    with torch.no_grad():
        layer(x)  # builds the cached transposed weight
    layer(x).sum().backward()
    torch.optim.SGD(layer.parameters(), lr=0.5).step()
    with torch.no_grad():
        assert torch.allclose(layer(x), F.linear(x, layer.weight, layer.bias), atol=1e-6)
        layer.load_state_dict({"weight": torch.randn(8, 16), "bias": torch.randn(8)})
        assert torch.allclose(layer(x), F.linear(x, layer.weight, layer.bias), atol=1e-6)


def _decode_both_ways(model: WorldModel, state) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch-1 decoding through the inference paths and through the training (autograd) paths."""
    with torch.no_grad():
        fast = model.decode(state)
    return fast, model.decode(state).detach()


def test_world_model_inference_follows_training_and_loaded_weights(tiny_model, square) -> None:
    torch.manual_seed(0)
    model, batch = tiny_model(), square(batch=2, steps=5)
    with torch.no_grad():
        state = model.observe(batch["frames"][:1], batch["actions"][:1, :4])
    fast, plain = _decode_both_ways(model, state)
    assert torch.allclose(fast, plain, atol=1e-5)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(2):
        optimiser.zero_grad()
        model.loss(batch)[0].backward()
        optimiser.step()
    fast_after, plain_after = _decode_both_ways(model, state)
    assert torch.allclose(fast_after, plain_after, atol=1e-5) and not torch.allclose(fast_after, fast, atol=1e-3)
    fresh = tiny_model()
    fresh.load_state_dict(model.state_dict())
    fresh_fast, _ = _decode_both_ways(fresh, state)
    assert torch.allclose(fresh_fast, fast_after, atol=1e-5)


@pytest.mark.parametrize("rows", [1, 12])
def test_feature_linear_inference_paths_match_the_product(rows: int) -> None:
    """Exact bags equal the matrix product; the 8-bit copy stays within 1% and follows weight changes."""
    torch.manual_seed(0)
    layer = FeatureLinear(16, 4 * 8, 24)
    onehot = torch.nn.functional.one_hot(torch.randint(0, 8, (rows, 4)), 8).flatten(1).float()
    x = torch.cat([torch.randn(rows, 16), onehot], 1)
    x[0, 16:] = 0  # a row with no one-hot entries at all
    expected = x @ layer.weight + layer.bias
    with torch.no_grad():
        assert torch.allclose(layer(x), expected, atol=1e-5)
        layer.quantized = True
        quantized = layer(x)
        assert 0 < (quantized - expected).norm() <= 0.01 * expected.norm()
        layer.weight.mul_(2)
        assert torch.allclose(layer(x), quantized * 2 - layer.bias, rtol=0.02, atol=0.02)


def _rollout(model: WorldModel, fast: bool):
    """Frames (1, 5, 3, 64, 64) and final state of a seeded 5-step rollout from a seeded context."""
    torch.manual_seed(1)
    engine = ImaginationEngine(model, fast_decode=fast)
    engine.reset(torch.randint(0, 256, (1, 4, 3, 64, 64), dtype=torch.uint8), torch.randint(0, 6, (1, 3)))
    return engine.rollout(torch.randint(0, 6, (1, 5))), engine.state


def test_fast_decoding_stays_close_and_leaves_the_state_update_exact() -> None:
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(size="xs"), DataSpec(channels=3, height=64, width=64, num_actions=6))
    exact, exact_state = _rollout(model, False)
    fast, fast_state = _rollout(model, True)
    assert torch.equal(exact_state.deter, fast_state.deter) and torch.equal(exact_state.stoch, fast_state.stoch)
    assert 0 < (exact - fast).abs().max().item() <= FAST_TOLERANCE
    assert torch.equal(_rollout(model, False)[0], exact)  # switched back: exact again


def test_fast_decoding_is_off_for_a_replaced_decoder(tiny_model) -> None:
    model = tiny_model()
    assert model.set_fast_decode(True) is True and model.set_fast_decode(False) is False
    C, H, W = model.frame_shape
    decoder = torch.nn.Sequential(torch.nn.Linear(model.feat_dim, C * H * W), torch.nn.Unflatten(1, (C, H, W)))
    model.set_module("decoder", decoder)
    assert model.set_fast_decode(True) is False
