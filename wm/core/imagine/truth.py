"""Play against a recording: each imagined frame scored against the recorded frame of the same step.

The score is ``wm eval``'s moving-pixel error, by its own helpers: the moving pixels are those
where the recorded frame differs from the last context frame in any channel (``evaluate.moving_mask``),
and the error is the MSE over every channel of them, frames in [0, 1], shown as PSNR
(``stats.psnr``: ``PSNR_CAP`` for an error of 0; None here when nothing moves).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wm.core.imagine.context import Context
from wm.core.imagine.evaluate import moving_mask
from wm.core.imagine.stats import psnr

MAX_RECORDED = 1000  # recorded steps read after a play context (about a minute at 15 fps)


def moving_psnr(imagined: np.ndarray, truth: np.ndarray, last: np.ndarray) -> float | None:
    """PSNR (dB) of ``imagined`` float (C, H, W) in [0, 1] against ``truth`` uint8 (C, H, W) over the
    pixels where ``truth`` differs from ``last`` uint8 (C, H, W); None when no pixel moves."""
    moving = moving_mask(torch.from_numpy(truth)[None, None], torch.from_numpy(last)[None])[0, 0, 0].numpy()
    if not moving.any():
        return None
    error = np.clip(imagined[:, moving], 0, 1) - truth[:, moving] / np.float32(255)
    return float(psnr(np.mean(np.square(error, dtype=np.float64))))


@dataclass(frozen=True)
class StepScore:
    """The imagined frame of ``step`` (1 = the first after the context) against the recording."""

    step: int
    psnr: float | None  # moving-pixel PSNR; None when nothing moves
    recorded: int | np.ndarray  # the action recorded at this step
    same_action: bool  # whether the action taken equals it


class Recording:
    """What followed a dataset context: frames uint8 (N, C, H, W) and actions (N[, A]) after ``context``."""

    def __init__(self, context: Context) -> None:
        actions = np.zeros(0, np.int64) if context.next_actions is None else context.next_actions
        steps = min(len(context.next_frames), len(actions))
        self.frames, self.actions, self.last = context.next_frames[:steps], actions[:steps], context.frames[-1]

    def __len__(self) -> int:
        return len(self.frames)

    def score(self, step: int, imagined: np.ndarray, action: int | np.ndarray) -> StepScore | None:
        """Score ``imagined`` float (C, H, W) taken with ``action`` at ``step`` (>= 1); None past the recording."""
        if not 1 <= step <= len(self):
            return None
        recorded = self.actions[step - 1]
        same = bool(np.allclose(np.asarray(action, np.float64), np.asarray(recorded, np.float64), rtol=0, atol=1e-6))
        return StepScore(step, moving_psnr(imagined, self.frames[step - 1], self.last), recorded, same)
