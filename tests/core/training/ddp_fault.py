"""`wm` with a fault on one rank: ``python ddp_fault.py RANK STEP wm-args...`` under torchrun.

On rank RANK the STEP-th training step raises a WMError (as a data file unreadable on that host
would); every other rank runs the plain command. Kept free of pytest imports.
"""

from __future__ import annotations

import os
import sys

from wm.core.errors import WMError
from wm.core.training.step import TrainStep


def inject(rank: int, step: int) -> None:
    """Make this process's ``step``-th TrainStep call raise, when it is rank ``rank``."""
    if int(os.environ.get("RANK", "0")) != rank:
        return
    real, calls = TrainStep.__call__, [0]

    def failing(self: TrainStep, batch: object) -> object:
        calls[0] += 1
        if calls[0] == step:
            raise WMError(f"injected fault on rank {rank} at step {step}")
        return real(self, batch)

    TrainStep.__call__ = failing  # type: ignore[method-assign]


if __name__ == "__main__":
    import torch

    from wm.cli.app import main

    torch.set_num_threads(1)
    inject(int(sys.argv[1]), int(sys.argv[2]))
    sys.argv = ["wm", *sys.argv[3:]]
    main()
