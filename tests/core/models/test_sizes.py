"""Size table, overrides and image sizes: every named size builds with the right widths."""

from __future__ import annotations

import pytest
import torch

from wm.core.config.schema import ModelConfig
from wm.core.data.spec import DataSpec
from wm.core.errors import WMError

pytestmark = pytest.mark.usefixtures("one_thread")
from wm.core.models.sizes import SIZES, resolve_dims
from wm.core.models.world_model import WorldModel

ATARI = DataSpec(channels=3, height=64, width=64, num_actions=18)


@pytest.mark.parametrize("size", ["xs", "s", "m", "l"])
def test_every_size_builds_with_its_widths(size: str) -> None:
    with torch.device("meta"):  # shapes only: no memory, no init cost
        model = WorldModel(ModelConfig(size=size), ATARI)
    dims = SIZES[size]
    assert model.dynamics.gru_rec.weight.shape == (3 * dims.deter, dims.deter)
    assert model.dynamics.post_out.weight.shape == (32 * 32, dims.hidden)
    assert model.encoder.out_shape == (8 * dims.depth, 4, 4)
    assert model.feat_dim == dims.deter + 32 * 32


def test_published_sizes() -> None:
    table = {name: (d.deter, d.hidden, d.depth, d.stoch, d.classes) for name, d in SIZES.items()}
    assert table == {
        "xs": (256, 256, 24, 32, 32),
        "s": (512, 512, 32, 32, 32),
        "m": (1024, 640, 48, 32, 32),
        "l": (2048, 768, 64, 32, 32),
    }


def test_fields_override_the_size() -> None:
    dims = resolve_dims(ModelConfig(size="m", deter=300, classes=8))
    assert (dims.deter, dims.hidden, dims.classes, dims.depth) == (300, 640, 8, 48)
    with pytest.raises(WMError, match="model.hidden"):
        resolve_dims(ModelConfig(size="s", hidden=0))


def test_xs_runs_forward_on_atari_frames() -> None:
    torch.manual_seed(0)
    model = WorldModel(ModelConfig(size="xs"), ATARI)
    batch = {"frames": torch.randint(0, 256, (1, 3, 3, 64, 64), dtype=torch.uint8), "actions": torch.randint(0, 18, (1, 3))}
    loss, parts = model.loss(batch)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert set(parts) == {"recon", "blend", "kl_dyn", "kl_rep", "kl"}


@pytest.mark.parametrize(("height", "width", "grid", "stages"), [(64, 64, (4, 4), 4), (128, 128, (4, 4), 5), (32, 64, (4, 8), 3)])
def test_image_sizes(tiny_model, height: int, width: int, grid: tuple[int, int], stages: int) -> None:
    model = tiny_model({"height": height, "width": width, "channels": 3})
    assert model.encoder.out_shape == (4 * 2 ** (stages - 1), *grid)
    frames = torch.randint(0, 256, (2, 1, 3, height, width), dtype=torch.uint8)
    state = model.observe(frames, torch.zeros(2, 0, dtype=torch.long))
    assert model.decode(state).shape == (2, 3, height, width)


@pytest.mark.parametrize("size", [60, 96, 4, 100])
def test_bad_image_size_names_the_setting(tiny_model, size: int) -> None:
    with pytest.raises(WMError, match=rf"{size}x{size} \(data.image_size\).*64"):
        tiny_model({"height": size, "width": size})
