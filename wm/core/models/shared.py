"""Weights shared by every step of a recurrence, with their gradients computed once for all steps.

Autograd would compute a weight gradient per step (an outer product over a batch of 16 rows,
memory-bound) and add it into an accumulator 64 times. Here each step only records its input and,
during backward, its output gradient; the weight's gradient is then one matrix product over all
steps at once, taken when autograd has delivered every step's gradient. Same gradients as
autograd, up to summation order.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd import Function


class _Tape:
    """Inputs and output gradients of one shared weight, step by step."""

    def __init__(self, transposed: bool) -> None:
        self.transposed = transposed  # weight stored (in, out) rather than nn.Linear's (out, in)
        self.inputs: list[torch.Tensor] = []
        self.grads: list[torch.Tensor | None] = []


class _Share(Function):
    """Identity on the weight (cast to the compute dtype) whose backward runs after every step's."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, tape: _Tape, dtype: torch.dtype) -> torch.Tensor:
        ctx.tape, ctx.dtype = tape, weight.dtype
        return weight.to(dtype) if weight.dtype != dtype else weight.view_as(weight)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        tape = ctx.tape
        pairs = [(x, g) for x, g in zip(tape.inputs, tape.grads) if g is not None]
        tape.inputs, tape.grads = [], []
        if pairs:
            x = torch.cat([x for x, _ in pairs])
            g = torch.cat([g for _, g in pairs]).to(x.dtype)
            total = x.t() @ g if tape.transposed else g.t() @ x
            grad = grad + total.to(grad.dtype)
        return grad.to(ctx.dtype), None, None


class _StepLinear(Function):
    """``x @ weight`` (or ``x @ weight.T``) that hands its weight gradient to the tape instead."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, tape: _Tape) -> torch.Tensor:
        x = x.to(weight.dtype)
        ctx.save_for_backward(weight)
        ctx.tape, ctx.index, ctx.x_dtype = tape, len(tape.inputs), x.dtype
        tape.inputs.append(x)
        tape.grads.append(None)
        return x @ weight if tape.transposed else x @ weight.t()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (weight,) = ctx.saved_tensors
        grad = grad.to(weight.dtype)
        ctx.tape.grads[ctx.index] = grad
        if not ctx.needs_input_grad[0]:
            return None, None, None
        return (grad @ weight.t() if ctx.tape.transposed else grad @ weight), None, None


class SharedLinears:
    """Bias-free linear maps of ``modules`` (nn.Linear or (in, out)-stored) for use at many steps.

    ``shared(name, x)`` is ``modules[name](x)`` without bias; build one per sequence, under autograd.
    """

    def __init__(self, modules: dict[str, nn.Module], dtype: torch.dtype) -> None:
        self.weights = {}
        for name, module in modules.items():
            tape = _Tape(transposed=not isinstance(module, nn.Linear))
            self.weights[name] = (_Share.apply(module.weight, tape, dtype), tape)

    def __call__(self, name: str, x: torch.Tensor) -> torch.Tensor:
        weight, tape = self.weights[name]
        return _StepLinear.apply(x, weight, tape)
