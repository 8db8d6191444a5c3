"""The parts on their own: vision encoders by path, backbones by path, the block-causal mask, hooks."""

from __future__ import annotations

import shutil

import pytest
import torch
from torch import nn

from wm.core.config.schema import BackboneConfig, VisionConfig
from wm.core.errors import WMError
from wm.core.models.backbones import LayerOutputCollector, LLMBackboneWrapper, VisionEncoderWrapper

FRAMES = torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8)


@pytest.mark.parametrize("name", ["clip", "dinov2", "siglip"])
def test_vision_encoder_by_path_gives_pooled_and_patch_features(hf_models, name):
    pooled = VisionEncoderWrapper.from_config(VisionConfig(name_or_path=hf_models[name]), 3, 16)
    patches = VisionEncoderWrapper.from_config(VisionConfig(name_or_path=hf_models[name], features="patches"), 3, 16)
    assert pooled(FRAMES).shape == (3, 1, 16)
    assert patches(FRAMES).shape == (3, 4, 16)  # 16x16 image, 8x8 patches; class token dropped
    assert not any(p.requires_grad for p in pooled.parameters())


def test_vision_preprocessing_comes_from_the_image_processor_and_config_is_rewritten(hf_models):
    cfg = VisionConfig(name_or_path=hf_models["clip"])
    encoder = VisionEncoderWrapper.from_config(cfg, 3, 64)
    assert encoder.image_size == 16
    assert encoder.mean.flatten().tolist() == pytest.approx([0.5, 0.4, 0.3])
    # the section now describes the vision tower alone, rebuildable without the folder
    assert cfg.name_or_path == "" and cfg.config["model_type"] == "clip_vision_model"
    assert cfg.config["_name_or_path"] == hf_models["clip"]
    assert (cfg.image_size, cfg.std) == (16, pytest.approx([0.2, 0.25, 0.3]))
    rebuilt = VisionEncoderWrapper.from_config(cfg, 3, 64)
    rebuilt.load_state_dict(encoder.state_dict())
    frames = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    assert torch.equal(rebuilt(frames), encoder(frames))


def test_bf16_encoder_returns_float32_features(hf_models):
    cfg = VisionConfig(name_or_path=hf_models["dinov2"], dtype="bfloat16", features="patches")
    encoder = VisionEncoderWrapper.from_config(cfg, 3, 16)
    assert next(encoder.parameters()).dtype == torch.bfloat16
    assert encoder(FRAMES).dtype == torch.float32


def test_grey_frames_are_repeated_to_three_channels(hf_models):
    encoder = VisionEncoderWrapper.from_config(VisionConfig(name_or_path=hf_models["dinov2"]), 1, 16)
    grey = torch.randint(0, 256, (2, 1, 16, 16), dtype=torch.uint8)
    assert torch.allclose(encoder(grey), encoder(grey.expand(-1, 3, -1, -1)))


def test_unfrozen_encoder_gets_gradients(hf_models):
    encoder = VisionEncoderWrapper.from_config(VisionConfig(name_or_path=hf_models["dinov2"], freeze=False), 3, 16)
    encoder(FRAMES).square().sum().backward()  # (a plain sum of layer-normed features has zero gradient)
    assert encoder.model.embeddings.patch_embeddings.projection.weight.grad.abs().sum() > 0


class ConvEncoder(nn.Module):
    """A user encoder: a conv feature map (N, 8, 4, 4) -> 16 tokens of width 8."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 4, 4), nn.ReLU())

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels)


def test_user_encoder_module():
    encoder = VisionEncoderWrapper(ConvEncoder(), 16, [0.5] * 3, [0.5] * 3, "patches")
    assert (encoder.tokens, encoder.dim) == (16, 8)
    pooled = VisionEncoderWrapper(ConvEncoder(), 16, [0.5] * 3, [0.5] * 3, "pooled")
    assert pooled(FRAMES).shape == (3, 1, 8)


def test_missing_source_is_a_one_line_error():
    with pytest.raises(WMError, match="model.vision"):
        VisionEncoderWrapper.from_config(VisionConfig(), 3, 16)
    with pytest.raises(WMError, match="model.backbone.name_or_path"):
        LLMBackboneWrapper.from_config(BackboneConfig(name_or_path="/no/such/folder"))


@pytest.mark.parametrize("name", ["llama", "mistral"])
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_block_causal_mask_a_later_step_never_changes_an_earlier_one(hf_models, name, attention):
    backbone = LLMBackboneWrapper.from_config(BackboneConfig(name_or_path=hf_models[name]))
    backbone.model.config._attn_implementation = attention
    steps, k = 4, 3
    embeds = torch.randn(2, steps * k, backbone.hidden_size)
    base = backbone(embeds, k)
    later = embeds.clone()
    later[:, 2 * k :] += torch.randn_like(later[:, 2 * k :])  # change steps 2 and 3 only
    out = backbone(later, k)
    assert torch.allclose(out[:, : 2 * k], base[:, : 2 * k], atol=1e-5)  # steps 0-1 untouched
    assert not torch.allclose(out[:, 2 * k :], base[:, 2 * k :])
    inside = embeds.clone()
    inside[:, 2 * k - 1] += 1.0  # the last token of step 1 ...
    assert not torch.allclose(backbone(inside, k)[:, k], base[:, k])  # ... is seen by the first token of step 1


def test_backbone_drops_the_vocabulary_and_loads_the_saved_weights(hf_models):
    from transformers import LlamaForCausalLM

    backbone = LLMBackboneWrapper.from_config(BackboneConfig(name_or_path=hf_models["llama"]))
    saved = LlamaForCausalLM.from_pretrained(hf_models["llama"])
    assert not any("embed_tokens" in key for key in backbone.state_dict())
    assert torch.equal(backbone.model.layers[0].mlp.up_proj.weight, saved.model.layers[0].mlp.up_proj.weight)


def test_lora_trains_only_the_adapters(hf_models):
    cfg = BackboneConfig(name_or_path=hf_models["llama"])
    cfg.lora.r = 4
    backbone = LLMBackboneWrapper.from_config(cfg)
    trainable = [name for name, p in backbone.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    backbone(torch.randn(1, 6, 32), 3).sum().backward()
    assert all(p.grad is None for name, p in backbone.named_parameters() if "lora_" not in name)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for name, p in backbone.named_parameters() if "lora_B" in name)


def test_collector_keeps_layer_outputs_and_its_hooks_go_away(hf_models):
    backbone = LLMBackboneWrapper.from_config(BackboneConfig(name_or_path=hf_models["llama"]))
    encoder = VisionEncoderWrapper.from_config(VisionConfig(name_or_path=hf_models["dinov2"]), 3, 16)
    targets = {**backbone.hook_targets([0, -1, "norm"]), **encoder.hook_targets([1, "embeddings"])}
    assert list(targets) == ["backbone.0", "backbone.-1", "backbone.norm", "vision.1", "vision.embeddings"]
    with LayerOutputCollector(targets) as collector:
        backbone(torch.randn(2, 6, 32), 3)
        encoder(FRAMES)
        shapes = {key: tuple(value.shape) for key, value in collector.outputs.items()}
    assert shapes == {
        "backbone.0": (2, 6, 32),  # a decoder layer: tuple or tensor, the hidden states kept
        "backbone.-1": (2, 6, 32),
        "backbone.norm": (2, 6, 32),
        "vision.1": (3, 5, 16),  # class token + 4 patches
        "vision.embeddings": (3, 5, 16),
    }
    collector.clear()
    backbone(torch.randn(2, 6, 32), 3)
    assert collector.outputs == {}
    assert all(not module._forward_hooks for module in targets.values())


def test_bad_hook_specs_name_the_config_key(hf_models):
    backbone = LLMBackboneWrapper.from_config(BackboneConfig(name_or_path=hf_models["llama"]))
    with pytest.raises(WMError, match="model.backbone.hook_layers.*out of range"):
        backbone.hook_targets([5])
    with pytest.raises(WMError, match="no submodule 'nope'"):
        backbone.hook_targets(["nope"])


def test_vae_decoder_by_path_trains_only_its_adapter_and_rebuilds_from_config(tmp_path):
    diffusers = pytest.importorskip("diffusers")
    from wm.core.config.schema import VideoDecoderConfig
    from wm.core.models.backbones import VideoDecoderWrapper

    torch.manual_seed(0)
    blocks = dict(down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2)
    vae = diffusers.AutoencoderKL(block_out_channels=(8, 16), latent_channels=4, norm_num_groups=4, layers_per_block=1, **blocks)
    vae.save_pretrained(tmp_path / "vae")
    cfg = VideoDecoderConfig(kind="vae", name_or_path=str(tmp_path / "vae"), depth=4)
    decoder = VideoDecoderWrapper.from_config(cfg, 4, 16, (3, 16, 16))
    features = torch.randn(2, 4, 16)
    assert decoder(features).shape == (2, 3, 16, 16)
    trainable = [name for name, p in decoder.named_parameters() if p.requires_grad]
    assert trainable and all(name.startswith("decoder.adapter.") for name in trainable)
    assert not any(".encoder." in key for key in decoder.state_dict())  # the encoder half is dropped
    assert cfg.name_or_path == "" and cfg.config["latent_channels"] == 4
    shutil.rmtree(tmp_path / "vae")
    rebuilt = VideoDecoderWrapper.from_config(cfg, 4, 16, (3, 16, 16))
    rebuilt.load_state_dict(decoder.state_dict())
    assert torch.allclose(rebuilt(features), decoder(features), atol=1e-6)


def test_bf16_backbone_with_gradient_checkpointing_trains(hf_models):
    cfg = BackboneConfig(name_or_path=hf_models["llama"], dtype="bfloat16", gradient_checkpointing=True)
    backbone = LLMBackboneWrapper.from_config(cfg).train()
    assert any(getattr(m, "gradient_checkpointing", False) for m in backbone.modules())
    embeds = torch.randn(2, 6, 32, requires_grad=True)
    out = backbone(embeds, 3)
    assert out.dtype == torch.float32 and next(backbone.parameters()).dtype == torch.bfloat16
    out.square().mean().backward()
    assert embeds.grad.abs().sum() > 0 and backbone.model.layers[0].mlp.up_proj.weight.grad is not None


class TinyBackbone(nn.Module):
    """A user backbone: one PyTorch transformer layer that honours the additive (1, 1, L, L) mask."""

    hidden_size = 32

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)])

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.layers[0](inputs_embeds, src_mask=attention_mask[0, 0])


def test_user_backbone_module_gets_the_same_block_causal_mask():
    backbone = LLMBackboneWrapper(TinyBackbone()).eval()
    assert list(backbone.hook_targets([0])) == ["backbone.0"]
    embeds = torch.randn(1, 6, 32)
    changed = embeds.clone()
    changed[:, 3:] += 1.0
    assert torch.allclose(backbone(changed, 3)[:, :3], backbone(embeds, 3)[:, :3], atol=1e-6)
