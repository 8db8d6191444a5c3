"""Training: the loop (single process or torchrun/DDP), optimisation, run folders, exact resume, finetuning.

    from wm.core.config import load_config
    from wm.core.training import Trainer

    result = Trainer(load_config(["debug"])).fit()   # runs/builtin-<time>/checkpoints/final.pt
"""

from wm.core.training.events import Callback, TrainEvent, TrainResult
from wm.core.training.finetune import pretrained_overrides
from wm.core.training.resume import resume_run
from wm.core.training.run_folder import RunFolder
from wm.core.training.trainer import Trainer

__all__ = ["Callback", "RunFolder", "TrainEvent", "TrainResult", "Trainer", "pretrained_overrides", "resume_run"]
