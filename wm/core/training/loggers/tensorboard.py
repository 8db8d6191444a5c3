"""TensorBoard events in ``runs/NAME/tensorboard/`` (the ``tensorboard`` extra): ``train/...`` scalars,
the sample GIFs as animated images under ``sample``, the evaluation as ``eval/...`` scalars and the
tables `wm eval` prints as text under ``eval``.

    tensorboard --logdir runs/
"""

from __future__ import annotations

import math
from pathlib import Path

from wm.core.config import Config
from wm.core.errors import WMError
from wm.core.training.run_folder import RunFolder


def open_logger(folder: RunFolder, config: Config, step: int) -> TensorBoardLogger:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise WMError(
            "train.loggers: 'tensorboard' needs the tensorboard package; install it with "
            "pip install 'wm-world-models[tensorboard]' (or drop it from train.loggers)"
        ) from None
    # events an earlier process logged after ``step`` (a kill after the checkpoint) are purged
    purge = step + 1 if folder.tensorboard.is_dir() else None
    return TensorBoardLogger(SummaryWriter(log_dir=str(folder.tensorboard), purge_step=purge))


class TensorBoardLogger:
    """A ``RunLogger`` over a ``torch.utils.tensorboard.SummaryWriter``."""

    def __init__(self, writer) -> None:  # noqa: ANN001 - SummaryWriter is imported lazily
        self.writer = writer

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self._scalars("train", step, values)

    def sample(self, step: int, path: Path) -> None:
        """The GIF as it is, an image summary that TensorBoard animates (what ``add_video`` writes, without
        re-encoding the frames through moviepy)."""
        from PIL import Image
        from tensorboard.compat.proto.summary_pb2 import Summary

        with Image.open(path) as picture:
            width, height = picture.size
        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=path.read_bytes())
        self.writer.file_writer.add_summary(Summary(value=[Summary.Value(tag="sample", image=image)]), step)
        self.writer.flush()

    def evaluation(self, step: int, results: dict[str, float]) -> None:
        from wm.core.hub.card import evaluation_markdown

        self._scalars("eval", step, results)
        self.writer.add_text("eval", evaluation_markdown(results), step)
        self.writer.flush()

    def _scalars(self, prefix: str, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(f"{prefix}/{key}", value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
