"""One imagination step at fixed shapes, replayed from static buffers: a CUDA graph on CUDA.

A batch-1 step is some 150 small kernels; on a GPU their launches, not the arithmetic, set its
time. Captured once as a CUDA graph, the step is replayed as one launch. The step reads its
inputs from buffers it owns and writes to outputs it owns, which is what a graph needs; off CUDA
the same buffers are used and the step runs eagerly, so the buffer handling is tested on the CPU.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace

import torch

from wm.core.models.base import Imagined, State, WorldModelBase

WARMUP = 3  # eager runs on a side stream before capture, as torch.cuda.graphs asks


def graphable(state: State) -> bool:
    """Whether ``state`` is a dataclass of tensors (and Nones) that static buffers can hold."""
    return is_dataclass(state) and all(
        value is None or isinstance(value, torch.Tensor) for value in (getattr(state, f.name) for f in fields(state))
    )


class StaticStep:
    """``model.imagine(state, actions)`` for one fixed ``state`` layout and ``actions`` shape.

    ``step(state, actions) -> Imagined`` copies its inputs into the buffers, replays (CUDA) or
    runs (elsewhere) the step on them, and returns clones of the outputs. Construction on CUDA
    captures the graph and raises what capture raises (an operator that syncs with the host):
    the caller then keeps the plain path.
    """

    def __init__(self, model: WorldModelBase, state: State, actions: torch.Tensor) -> None:
        self.model = model
        self.state = replace(state, **{f.name: _copy(getattr(state, f.name)) for f in fields(state)})
        self.actions = actions.clone()
        self.graph: torch.cuda.CUDAGraph | None = None
        self.out: Imagined | None = None
        if actions.device.type == "cuda":
            self._capture()

    def fits(self, state: State, actions: torch.Tensor) -> bool:
        """Whether ``state`` and ``actions`` have the layout (fields, shapes, dtypes) of the buffers."""
        pairs = [(getattr(state, f.name), getattr(self.state, f.name)) for f in fields(state)] + [(actions, self.actions)]
        return type(state) is type(self.state) and all(
            (a is None and b is None) or (a is not None and b is not None and a.shape == b.shape and a.dtype == b.dtype)
            for a, b in pairs
        )

    def __call__(self, state: State, actions: torch.Tensor) -> Imagined:
        for field in fields(state):
            value = getattr(state, field.name)
            if value is not None:
                getattr(self.state, field.name).copy_(value)
        self.actions.copy_(actions)
        if self.graph is None:
            self.out = self._run()
        else:
            self.graph.replay()
        out = self.out
        assert out is not None
        state = replace(out.state, **{f.name: _copy(getattr(out.state, f.name)) for f in fields(out.state)})
        return replace(out, state=state, **{name: _copy(getattr(out, name)) for name in ("frames", "rewards", "continues", "states")})

    def _run(self) -> Imagined:
        return self.model.imagine(self.state, self.actions)

    def _capture(self) -> None:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(WARMUP):
                self._run()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.out = self._run()
        self.graph = graph


def _copy(value: torch.Tensor | None) -> torch.Tensor | None:
    return None if value is None else value.clone()
