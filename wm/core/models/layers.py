"""Small building blocks shared by the RSSM world model's parts."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class ChannelNorm(nn.Module):
    """LayerNorm over the channels of an image tensor (N, C, H, W), as DreamerV3's CNNs use.

    Works on a channels-last view, so a channels_last input is normalised without a copy and the
    output is channels_last.
    """

    def __init__(self, channels: int, eps: float = 1e-3) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


FEW_ROWS = 8  # inference on at most this many rows takes the batch-1 paths below


class WeightCache:
    """A tensor derived from parameters for inference (e.g. a transposed copy), rebuilt when one changes.

    A parameter changes in place (optimiser step, ``load_state_dict``: its version counter grows) or
    is replaced (``set_module``, ``.to()``: another tensor or storage); either rebuilds the copy, as
    does asking for another ``dtype`` or other ``options``. ``build(*params, **options)`` makes the
    copy from the parameters cast to ``dtype``.
    """

    def __init__(self, build: Callable[..., torch.Tensor]) -> None:
        self.build = build
        self.params: tuple[torch.Tensor, ...] = ()  # held, so that their ids stay unique
        self.key: tuple = ()
        self.value: torch.Tensor | None = None

    def __call__(self, *params: torch.Tensor, dtype: torch.dtype = torch.float32, **options: object) -> torch.Tensor:
        key = (dtype, tuple(options.items()), *((id(p), p.data_ptr(), p._version) for p in params))
        if key != self.key or self.value is None:
            with torch.no_grad():
                self.value = self.build(*(p.to(dtype) for p in params), **options)
            self.params, self.key = params, key
        return self.value


def _transposed(weight: torch.Tensor) -> torch.Tensor:
    return weight.t().contiguous()


class Linear(nn.Linear):
    """``nn.Linear`` (same parameters, same training path) whose inference on a few rows reads a
    cached (in, out) copy of the weight: at batch 1 the product then streams the weight row by row,
    about twice as fast as the (out, in) layout when the weight is not in the CPU's cache.
    """

    def __init__(self, inp: int, out: int, bias: bool = True) -> None:
        super().__init__(inp, out, bias)
        self.weight_t = WeightCache(_transposed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.product(x)
        return out if self.bias is None else out + self.bias

    def product(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ weight.T`` without the bias."""
        if torch.is_grad_enabled() or x.numel() > FEW_ROWS * x.shape[-1]:
            return F.linear(x, self.weight)
        return x @ self.weight_t(self.weight)


def _columns(weight: torch.Tensor) -> torch.Tensor:
    return weight.flatten(1).t().contiguous()


def _packed(weight: torch.Tensor, *, stride: tuple, padding: tuple, shape: tuple) -> torch.Tensor:
    weight = weight.contiguous()
    return torch.ops.mkldnn._reorder_convolution_transpose_weight(weight, padding, (0, 0), stride, (1, 1), 1, shape)


# oneDNN's deconvolution on a pre-packed weight (the kernel torch.compile's CPU freezing uses)
PACKED_DECONV = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_transpose_pointwise")
FEW_CHANNELS = 8  # oneDNN fills fewer output channels than this slowly (3 at 64x64: 0.20 ms, product and fold 0.09)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 products natively (CUDA; a CPU with avx512_bf16 or AMX),
    rather than emulating them more slowly than float32."""
    return bool(bf16_support(device))


def bf16_support(device: torch.device) -> str:
    """What makes bfloat16 native on ``device`` ("avx512_bf16", "AMX", "CUDA compute capability 8.0"),
    or "" where it is emulated (older GPUs and CPUs, MPS)."""
    if device.type == "cuda":
        if not torch.cuda.is_bf16_supported(including_emulation=False):
            return ""
        major, minor = torch.cuda.get_device_capability(device)
        return f"CUDA compute capability {major}.{minor}"
    if device.type != "cpu":
        return ""
    checks = {"avx512_bf16": "_is_avx512_bf16_supported", "AMX": "_is_amx_tile_supported"}
    return next((name for name, check in checks.items() if getattr(torch.cpu, check, lambda: False)()), "")


class ConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (groups 1, no output padding) with faster inference (no autograd).

    On the CPU it runs oneDNN's deconvolution on a cached copy of the weight packed for the input's
    shape (the generic path re-packs the weight on every call: 2.3 ms against 0.16 ms for 256 -> 128
    channels at 4x4). Elsewhere, or for fewer than ``FEW_CHANNELS`` outputs, inference on at most
    ``FEW_ROWS`` images is one matrix product with a cached (out * kh * kw, in) weight, then ``fold``.

    ``compute_dtype`` (float32 unless set) is the precision of the deconvolution and, off the CPU, of
    the product: bfloat16 halves their cost where bf16 dot products are native (float32
    accumulation, output rounded to bfloat16). On the CPU the product (a few output channels) stays
    float32: there the conversions would cost more than bf16 saves.
    """

    def __init__(self, inp: int, out: int, kernel: int, stride: int, padding: int, bias: bool = True) -> None:
        super().__init__(inp, out, kernel, stride, padding, bias=bias)
        self.columns = WeightCache(_columns)
        self.packed = WeightCache(_packed)
        self.compute_dtype = torch.float32

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if torch.is_grad_enabled() or output_size is not None:
            return super().forward(x, output_size)
        if PACKED_DECONV and x.device.type == "cpu" and self.out_channels >= FEW_CHANNELS:
            out = self._deconvolution(x)
        elif x.shape[0] <= FEW_ROWS:
            out = self._product_fold(x)
        else:
            return super().forward(x)
        out = out.to(x.dtype)
        return out if self.bias is None else out + self.bias[:, None, None]

    def _deconvolution(self, x: torch.Tensor) -> torch.Tensor:
        """oneDNN's deconvolution with the packed weight, bias left out."""
        weight = self.packed(
            self.weight, dtype=self.compute_dtype, stride=self.stride, padding=self.padding, shape=tuple(x.shape)
        )
        return torch.ops.mkldnn._convolution_transpose_pointwise(
            x.to(weight.dtype), weight, None, self.padding, (0, 0), self.stride, (1, 1), 1, "none", [None], ""
        )

    def _product_fold(self, x: torch.Tensor) -> torch.Tensor:
        """The transposed convolution as one matrix product and an overlap-add (``fold``), bias left out."""
        (sh, sw), (ph, pw), (kh, kw) = self.stride, self.padding, self.kernel_size
        size = ((x.shape[2] - 1) * sh - 2 * ph + kh, (x.shape[3] - 1) * sw - 2 * pw + kw)
        dtype = torch.float32 if x.device.type == "cpu" else self.compute_dtype  # bf16 costs more than it saves here
        weight = self.columns(self.weight, dtype=dtype)
        cols = weight @ x.flatten(2).to(dtype)  # (N, out * kh * kw, h * w)
        return F.fold(cols, size, self.kernel_size, self.dilation, self.padding, self.stride)


def _byte_rows(weight: torch.Tensor) -> torch.Tensor:
    return torch.ops.quantized.embedding_bag_byte_prepack(weight.contiguous())


# sums of 8-bit rows (rowwise scale and offset), the kernels of quantized embedding tables
BYTE_BAGS = hasattr(torch.ops.quantized, "embedding_bag_byte_rowwise_offsets")


class FeatureLinear(nn.Module):
    """Linear map of RSSM features cat(dense (..., D), one-hot (..., S*K)) -> (..., out).

    The weight is stored (in, out), so that at inference (no autograd) on a few rows on the CPU the one-hot
    part's product is a sum of the weight rows its non-zero entries pick (exact for any values, and
    32 rows read instead of S*K = 1024 at batch 1; one ``embedding_bag``). With autograd, or for
    many rows, it is one matrix product.

    ``quantized`` (off unless set) makes inference on the CPU, at any batch, sum the rows that all
    non-zero entries pick from an 8-bit copy of the weight (scale and offset per row): a quarter of
    the bytes, outputs within about 1%.
    """

    def __init__(self, dense: int, sparse: int, out: int, bias: bool = True) -> None:
        super().__init__()
        self.dense = dense
        self.weight = nn.Parameter(torch.empty(dense + sparse, out))
        self.bias = nn.Parameter(torch.empty(out)) if bias else None
        self.byte_rows = WeightCache(_byte_rows)
        self.quantized = False
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.Linear's default initialisation: uniform in +-1/sqrt(in)."""
        bound = self.weight.shape[0] ** -0.5
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        cpu = rows.device.type == "cpu"  # elsewhere the bags' nonzero would sync (and bar CUDA graphs)
        quantized = self.quantized and BYTE_BAGS and cpu
        if torch.is_grad_enabled() or not cpu or (rows.shape[0] > FEW_ROWS and not quantized):
            out = rows @ self.weight
        elif quantized:
            picked, weights, offsets = _bags(rows)
            table = self.byte_rows(self.weight, dtype=torch.float32)
            out = torch.ops.quantized.embedding_bag_byte_rowwise_offsets(
                table, picked, offsets, False, 0, False, weights.float(), None, False
            )
        else:
            picked, weights, offsets = _bags(rows[:, self.dense :])
            sparse = self.weight[self.dense :]
            out = F.embedding_bag(picked, sparse, offsets, mode="sum", per_sample_weights=weights.to(sparse.dtype))
            if self.dense:
                out = out + rows[:, : self.dense] @ self.weight[: self.dense]
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], -1)


def _bags(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The non-zero entries of ``rows`` (N, in) as embedding bags: column indices, values, and
    offsets (row r's entries start at offsets[r])."""
    row, col = rows.nonzero(as_tuple=True)  # sorted by row
    offsets = torch.searchsorted(row, torch.arange(rows.shape[0], device=row.device))
    return col, rows[row, col], offsets


class Dense(nn.Sequential):
    """Linear (no bias) -> LayerNorm -> SiLU: DreamerV3's hidden layer (``linear`` replaces the Linear)."""

    def __init__(self, inp: int, out: int, linear: nn.Module | None = None) -> None:
        super().__init__(linear or Linear(inp, out, bias=False), nn.LayerNorm(out, eps=1e-3), nn.SiLU())


def feature_mlp(deter: int, stoch: int, hidden: int, layers: int, out: int) -> nn.Sequential:
    """MLP on RSSM features (deter + stoch wide): ``layers`` Dense layers of width ``hidden``, then a Linear."""
    blocks: list[nn.Module] = [Dense(deter + stoch, hidden, FeatureLinear(deter, stoch, hidden, bias=False))]
    blocks += [Dense(hidden, hidden) for _ in range(layers - 1)]
    blocks.append(Linear(hidden, out))
    return nn.Sequential(*blocks)


def symlog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.expm1(x.abs())


def unimix_logprobs(logits: torch.Tensor, unimix: float) -> torch.Tensor:
    """Log-probabilities of the categoricals in the last dim, mixed with ``unimix`` uniform."""
    logits = logits.float()
    if unimix <= 0:
        return F.log_softmax(logits, -1)
    probs = (1 - unimix) * torch.softmax(logits, -1) + unimix / logits.shape[-1]
    return probs.log()
