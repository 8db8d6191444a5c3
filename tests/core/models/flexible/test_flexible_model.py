"""FlexibleWorldModel end to end on tiny saved models: training, freezing, LoRA, manipulator, checkpoints."""

from __future__ import annotations

import shutil
import sys

import pytest
import torch
from torch import nn

from wm.core.checkpoint import Checkpoint, save_checkpoint
from wm.core.config import config_to_dict
from wm.core.config.schema import Config
from wm.core.errors import WMError
from wm.core.loading import load_model
from wm.core.models import build_model
from wm.core.models.flexible import FlexibleWorldModel

ALIGN = "linear_probe_alignment"  # registered by wm itself


def train(model: FlexibleWorldModel, batch: dict[str, torch.Tensor], steps: int) -> list[float]:
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(steps):
        loss, _ = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in module.state_dict().items()}


def test_training_lowers_the_loss_and_leaves_the_frozen_encoder_alone(hf_models, flexible_config, moving_square, spec):
    torch.manual_seed(0)
    model = build_model(flexible_config(hf_models["dinov2"], hf_models["llama"]), spec)
    assert model.module_names() == ["encoder", "backbone", "decoder", "projection", "action_embed", "manipulator"]
    encoder = snapshot(model.encoder)
    batch = moving_square(4, 6)
    _, parts = model.loss(batch)
    assert set(parts) == {"latent", "pixel"}
    losses = train(model, batch, 25)
    assert losses[-1] < 0.5 * losses[0]
    assert model.training and not model.encoder.model.training  # a frozen encoder stays in eval mode
    assert all(torch.equal(value, model.encoder.state_dict()[key]) for key, value in encoder.items())


def test_lora_model_trains_adapters_not_base_weights(hf_models, flexible_config, moving_square, spec):
    config = flexible_config(hf_models["clip"], hf_models["mistral"])
    config.backbone.lora.r = 4
    model = build_model(config, spec)
    base = {k: v.clone() for k, v in model.backbone.state_dict().items() if "lora_" not in k}
    lora = {k: v.clone() for k, v in model.backbone.state_dict().items() if "lora_B" in k}
    train(model, moving_square(), 3)
    after = model.backbone.state_dict()
    assert all(torch.equal(value, after[key]) for key, value in base.items())
    assert all(not torch.equal(value, after[key]) for key, value in lora.items())


def test_alignment_loss_reaches_probe_and_backbone_up_to_its_layer_only(hf_models, flexible_config, moving_square, spec):
    config = flexible_config(hf_models["dinov2"], hf_models["llama"], manipulator=ALIGN)
    config.backbone.hook_layers = [0]
    model = build_model(config, spec)
    _, parts = model.loss(moving_square())
    assert parts["align"] > 0
    model.zero_grad()
    _align_only(model, moving_square()).backward()
    touched = {name for name, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert "manipulator.probe.weight" in touched
    assert any(name.startswith("backbone.model.layers.0.") for name in touched)
    assert any(name.startswith("projection.inp") for name in touched) and "action_embed.weight" in touched
    assert not [n for n in touched if n.startswith(("encoder.", "decoder.", "projection.out", "backbone.model.layers.1."))]


def _align_only(model: FlexibleWorldModel, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The manipulator's loss alone, from the outputs the hooks kept during one forward pass."""
    frames, actions = batch["frames"], batch["actions"]
    b, t = frames.shape[:2]
    model.collector.clear()
    model._predict(model.encode(frames)[:, :-1], actions[:, :-1])
    return model.manipulator.aux_losses(model._collected(b, t))["align"]


def test_loss_weights_scale_the_parts_and_unknown_names_are_refused(hf_models, flexible_config, moving_square, spec):
    config = flexible_config(hf_models["dinov2"], hf_models["llama"], manipulator=ALIGN, loss_weights={"pixel": 0.0, "align": 2.0})
    model = build_model(config, spec)
    total, parts = model.loss(moving_square())
    assert total.item() == pytest.approx(parts["latent"].item() + 2.0 * parts["align"].item(), rel=1e-5)
    with pytest.raises(WMError, match="model.loss_weights.pixels.*latent, pixel, align"):
        build_model(flexible_config(hf_models["dinov2"], hf_models["llama"], manipulator=ALIGN, loss_weights={"pixels": 1.0}), spec)


def test_imagination_shapes_and_window(hf_models, flexible_config, moving_square, spec):
    model = build_model(flexible_config(hf_models["siglip"], hf_models["llama"]), spec).eval()
    batch = moving_square(2, 9)
    with torch.no_grad():
        state = model.observe(batch["frames"], batch["actions"][:, :-1])
        assert state.latents.shape == (2, 6, 4, 16) and state.actions.shape == (2, 5)  # window 6
        imagined = model.imagine(state, torch.tensor([[0, 1, 2], [3, 3, 3]]))
    assert imagined.frames.shape == (2, 3, 3, 16, 16)
    assert 0.0 <= imagined.frames.min() and imagined.frames.max() <= 1.0
    assert imagined.state.latents.shape == (2, 6, 4, 16) and imagined.state.actions.shape == (2, 5)
    assert model.decode(imagined.state).shape == (2, 3, 16, 16)


def test_continuous_actions(hf_models, flexible_config, moving_square):
    from wm.core.data.spec import DataSpec

    spec = DataSpec(channels=3, height=16, width=16, action_kind="continuous", num_actions=2)
    model = build_model(flexible_config(hf_models["dinov2"], hf_models["mistral"], manipulator=ALIGN), spec)
    batch = moving_square(2, 4)
    batch["actions"] = torch.randn(2, 4, 2)
    loss, parts = model.loss(batch)
    loss.backward()
    assert set(parts) == {"latent", "pixel", "align"} and model.action_embed.weight.grad.abs().sum() > 0
    with torch.no_grad():
        state = model.observe(batch["frames"], batch["actions"][:, :-1])
        assert model.imagine(state, torch.randn(2, 3, 2)).frames.shape == (2, 3, 3, 16, 16)


def test_checkpoint_rebuilds_offline_without_the_original_folders(hf_models, flexible_config, moving_square, tmp_path, monkeypatch, spec):
    vision, backbone = tmp_path / "vision", tmp_path / "backbone"
    shutil.copytree(hf_models["clip"], vision)
    shutil.copytree(hf_models["llama"], backbone)
    config = Config(model=flexible_config(str(vision), str(backbone), manipulator=ALIGN))
    config.model.backbone.lora.r = 2
    model = build_model(config.model, spec)
    train(model, moving_square(), 2)
    batch = moving_square(2, 4, seed=1)
    context = {"frames": batch["frames"], "actions": batch["actions"]}
    path = save_checkpoint(tmp_path / "ck.pt", Checkpoint(config_to_dict(config), spec, model.state_dict(), context))
    shutil.rmtree(vision)
    shutil.rmtree(backbone)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("rebuilding a checkpoint must not call from_pretrained")

    monkeypatch.setattr(AutoModel, "from_pretrained", no_download)
    loaded, _ = load_model(str(path))
    model.eval()
    with torch.no_grad():
        assert torch.equal(loaded.loss(batch)[0], model.loss(batch)[0])
        state = loaded.observe(batch["frames"], batch["actions"][:, :-1])
        expected = model.imagine(model.observe(batch["frames"], batch["actions"][:, :-1]), batch["actions"][:, :2])
        assert torch.equal(loaded.imagine(state, batch["actions"][:, :2]).frames, expected.frames)


def test_rollout_gif_from_a_flexible_checkpoint(hf_models, flexible_config, moving_square, tmp_path, spec):
    import imageio.v3 as iio

    from wm.core.imagine.rollout import RolloutOptions, run_rollout

    config = Config(model=flexible_config(hf_models["dinov2"], hf_models["llama"]))
    model = build_model(config.model, spec)
    batch = moving_square(2, 4)
    checkpoint = Checkpoint(config_to_dict(config), spec, model.state_dict(), {"frames": batch["frames"], "actions": batch["actions"]})
    result = run_rollout(model, checkpoint, RolloutOptions(output=tmp_path / "dream.gif", steps=5, scale=1))
    assert iio.imread(result.output).shape[0] == 5


class ConvEncoder(nn.Module):
    """A user encoder: 16x16 frames -> a (8, 2, 2) feature map, i.e. 4 tokens of width 8."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, width, 8, 8), nn.Tanh())

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels)


def test_user_encoder_by_set_module_and_by_trusted_import_path(hf_models, flexible_config, moving_square, tmp_path, monkeypatch, spec):
    model = build_model(flexible_config(hf_models["dinov2"], hf_models["llama"]), spec)
    with pytest.raises(WMError, match="set_module\\('encoder'\\).*is \\(4, 4\\), the model needs \\(4, 16\\)"):
        model.set_module("encoder", ConvEncoder(width=4))
    with pytest.raises(WMError, match="model.vision.hook_layers"):  # hooked layer 1 does not exist in it
        model.set_module("encoder", ConvEncoder(width=16))
    model.config.vision.hook_layers = ["net.0"]
    aligned = build_model(flexible_config(hf_models["dinov2"], hf_models["llama"], manipulator=ALIGN), spec)
    aligned.config.vision.hook_layers = ["net.0"]
    with pytest.raises(WMError, match="manipulator was built for hooked outputs"):
        aligned.set_module("encoder", ConvEncoder(width=16))  # the probe's vision.1 input would be gone
    assert aligned.collector.keys == ["vision.1", "backbone.-1"] and aligned.loss(moving_square())[0].isfinite()
    model.set_module("encoder", ConvEncoder(width=16))  # a bare module is wrapped with the preprocessing
    assert model.collector.keys == ["vision.net.0", "backbone.-1"]
    before = model.encoder.model.net[0].weight.clone()
    train(model, moving_square(), 2)  # the new encoder trains unless frozen with freeze_module
    assert not torch.equal(before, model.encoder.model.net[0].weight)
    module_file = tmp_path / "my_encoders.py"
    module_file.write_text("from torch import nn\n" + _source(ConvEncoder))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = Config(model=flexible_config("", hf_models["llama"]))
    config.model.vision.module, config.model.vision.module_kwargs = "my_encoders:ConvEncoder", {"width": 16}
    config.model.vision.hook_layers = ["net.0"]
    with pytest.raises(WMError, match="is an import path.*--trust-remote-code"):
        build_model(config.model, spec)
    assert "my_encoders" not in sys.modules  # refused before anything was imported
    built = build_model(config.model, spec, trust_remote_code=True)
    assert (built.encoder.tokens, built.encoder.dim) == (4, 16)
    train(built, moving_square(), 2)
    assert built.loss(moving_square())[0].isfinite()
    with pytest.raises(WMError, match="not a subclass of torch.nn"):
        config.model.vision.module = "subprocess:run"
        build_model(config.model, spec, trust_remote_code=True)
    sys.modules.pop("my_encoders", None)


def _source(cls: type) -> str:
    import inspect
    import textwrap

    return textwrap.dedent(inspect.getsource(cls)).replace("torch.Tensor", "object")


def test_presets_name_real_checkpoints_and_the_debug_one_builds_offline():
    from wm.core.config import load_config
    from wm.core.data.spec import DataSpec

    real = load_config(["flexible"]).model
    assert (real.vision.name_or_path, real.backbone.name_or_path) == ("facebook/dinov2-small", "HuggingFaceTB/SmolLM2-135M")
    assert real.vision.freeze and real.backbone.lora.r > 0
    debug = load_config(["flexible_debug"]).model
    model = build_model(debug, DataSpec(channels=3, height=64, width=64, num_actions=18))
    frames = torch.randint(0, 256, (1, 3, 3, 64, 64), dtype=torch.uint8)
    _, parts = model.loss({"frames": frames, "actions": torch.zeros(1, 3, dtype=torch.long)})
    assert set(parts) == {"latent", "pixel", "align"}
