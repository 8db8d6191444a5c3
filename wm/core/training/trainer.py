"""The training loop: steps, logging, checkpoints, samples, evaluation, Ctrl-C, exact resume, the push to the Hub.

One ``Trainer`` serves a plain process and every rank of a torchrun job alike: ranks differ
only in the windows they sample and in that rank 0 alone reports and writes. Resuming restores
weights, optimizer, schedule, random streams, the partial log window and the step; the data
stream is a pure function of (seed, step), so a resumed CPU run repeats an uninterrupted one.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from wm.core.checkpoint import Checkpoint, save_checkpoint
from wm.core.config import Config, config_to_dict
from wm.core.errors import WMError
from wm.core.models import build_model
from wm.core.training.data import TrainingData
from wm.core.training.distributed import DistContext, setup, wrap_ddp
from wm.core.training.events import Callback, TrainEvent, TrainResult
from wm.core.training.finetune import freeze, load_pretrained
from wm.core.training.interrupt import StopRequest
from wm.core.training.loggers import RunLoggers, open_loggers
from wm.core.training.metrics import LossWindow
from wm.core.training.optim import build_optimizer, build_scheduler, trainable_parameters
from wm.core.training.outputs import evaluate_holdout, write_sample
from wm.core.training.push import check_push_target, push_final
from wm.core.training.rng import preserved_rng, rank_seed, seed_everything
from wm.core.training.run_folder import RunFolder
from wm.core.training.state import capture_state, restore_state, same_data
from wm.core.training.states import fit_state_norm
from wm.core.training.step import LossModule, TrainStep, configure_backends


class Trainer:
    """Trains ``config``'s model on ``config``'s data into ``runs/NAME``.

    ``resume``: a checkpoint with training state to continue from (see ``resume_run``).
    ``pretrained``: a checkpoint whose weights start the model (finetuning), ``source`` names it.
    ``trust_remote_code``: the config's plug-in keys may be import paths (see wm.core.models.backbones.registry).
    ``precision`` (after construction): the precision it trains in and why (``train.precision``).
    """

    def __init__(
        self,
        config: Config,
        *,
        resume: Checkpoint | None = None,
        pretrained: Checkpoint | None = None,
        source: str = "",
        callback: Callback | None = None,
        context: DistContext | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        self.config = config
        self.callback = callback
        self.trust_remote_code = trust_remote_code
        if config.train.push_to_hub:
            check_push_target(config.train.push_to_hub)
        self.owns_context = context is None  # a process group joined here is left again after fit()
        self.context = context or setup(config.train.device)
        self.resumed = resume is not None
        seed_everything(config.seed)
        self.data = TrainingData.open(config)
        self.data.eval_horizons(config)  # a held-out episode too short for evaluation fails now, not at the end
        spec = self.data.spec if resume is None else same_data(resume.spec, self.data.spec, self.data.path)
        with preserved_rng():
            self.clips = resume.context if resume is not None and resume.context else self.data.context_clips(config)
        self.model = build_model(config.model, spec, trust_remote_code=trust_remote_code)
        if resume is not None:
            self.model.load_state_dict(resume.model, strict=True)
        else:  # a pretrained model keeps the standardisation its state head learned under
            fit_state_norm(self.model, self.data)
        if pretrained is not None:
            load_pretrained(self.model, pretrained, config.finetune.reinit_modules, source)
        freeze(self.model, config)
        device = self.context.device
        configure_backends(device)
        self.model.to(device)  # the RSSM keeps its conv weights channels_last itself
        self.optimizer = build_optimizer(self.model, config.train)
        self.scheduler = build_scheduler(self.optimizer, config.train)
        self.window = LossWindow()
        self.step = 0
        self.steps_per_epoch = self.data.steps_per_epoch(config, self.context.world_size)
        if resume is not None:
            self.step, saved_steps_per_epoch = restore_state(
                resume.training or {}, optimizer=self.optimizer, scheduler=self.scheduler, window=self.window,
                lr=config.train.lr, device=device,
            )  # fmt: skip
            if config.train.steps_per_epoch == 0:  # keep the run's epochs when the data size changed
                self.steps_per_epoch = saved_steps_per_epoch
        self.train_seconds = float((resume.training or {}).get("train_seconds", 0.0)) if resume is not None else 0.0
        if self.context.rank > 0:
            torch.manual_seed(rank_seed(config.seed, self.context.rank, self.step))
        module = wrap_ddp(LossModule(self.model), self.context)
        params = trainable_parameters(self.model)
        self.train_step = TrainStep(module, params, self.optimizer, self.scheduler, config.train, device)
        self.precision = self.train_step.precision
        with preserved_rng():  # a DataLoader draws its base seed from the global torch RNG
            self.loader = self.data.loader(config, self.step, self.context.rank, self.context.world_size)
        self.folder = RunFolder.for_config(config)
        self.last_checkpoint: Path | None = None
        self.last_metrics: dict[str, float] = {}
        self.fps = 0.0

    # -- the loop ------------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        return self.config.train.epochs * self.steps_per_epoch

    @property
    def epoch(self) -> int:
        return max(1, -(-self.step // self.steps_per_epoch))

    def fit(self) -> TrainResult:
        """Train to ``train.epochs``; returns early (interrupted) on Ctrl-C after saving a checkpoint.

        A resumed run whose steps are all done but whose final checkpoint is missing (killed after
        its last epoch checkpoint) only finishes: final checkpoint, sample and evaluation. With
        ``train.push_to_hub``, a run that completes is then pushed (see ``_push``).
        """
        if self.resumed and self.step >= self.total_steps and self.folder.final_checkpoint().is_file():
            raise WMError(
                f"train.epochs={self.config.train.epochs}: the run already finished its {self.step} steps "
                f"(epoch {self.epoch}); resume with a larger train.epochs to extend it"
            )
        loggers = self._open_folder()
        try:
            with StopRequest() as stop:
                result = self._loop(stop, loggers)
            self.context.barrier()  # rank 0 writes last: no rank leaves the group while another still works
            if self.config.train.push_to_hub and self.context.is_main and not result.interrupted:
                result = self._push(result)
            return result
        finally:
            if loggers is not None:
                loggers.close()
            if self.owns_context:
                self.context.close()

    def _loop(self, stop: StopRequest, loggers: RunLoggers | None) -> TrainResult:
        train, ctx = self.config.train, self.context
        frames_per_step = train.batch_size * train.seq_len * ctx.world_size
        self.model.train()
        self._emit("start", stop)
        started, start_step = time.perf_counter(), self.step
        window_start, window_step = started, self.step
        spent_before = self.train_seconds  # by earlier processes of this run
        while self.step < self.total_steps and not self._out_of_time(stop):
            self.window.add(self.step + 1, self.train_step(next(self.loader)))
            self.step += 1
            self.train_seconds = spent_before + time.perf_counter() - started
            boundary = self.step % train.log_every == 0 or self.step == self.total_steps
            if boundary:
                now = time.perf_counter()
                self.fps = frames_per_step * (self.step - window_step) / max(now - window_start, 1e-9)
                window_start, window_step = now, self.step
                if self._sync(stop, log=True) and loggers is not None:
                    loggers.scalars(self.step, {"epoch": self.epoch, **self.last_metrics, "frames_per_s": self.fps})
                    self._emit("log", stop)
            elapsed = time.perf_counter() - started
            eta = elapsed / (self.step - start_step) * (self.total_steps - self.step)
            if train.max_minutes > 0:
                eta = min(eta, max(0.0, train.max_minutes * 60 - self.train_seconds))
            self._emit("step", stop, eta_s=eta)
            if self.step % self.steps_per_epoch == 0 and self.step < self.total_steps:
                epoch = self.step // self.steps_per_epoch
                if epoch % train.save_every == 0:
                    self._save(self.folder.epoch_checkpoint(epoch), stop)
                    self._sample(f"epoch_{epoch}", stop, loggers)
                    window_start, window_step = time.perf_counter(), self.step  # frames/s counts training only
            if self.step < self.total_steps and self._stopping(stop, boundary):
                self._save(self.folder.step_checkpoint(self.step), stop)
                self._emit("interrupted", stop, path=self.last_checkpoint)
                return self._result(interrupted=True)
        return self._finish(stop, loggers)

    def _out_of_time(self, stop: StopRequest) -> bool:
        """Whether ``train.max_minutes`` of the training loop's wall time (steps, checkpoints and samples,
        over all resumes) have been spent; the ranks of a torchrun job decide together at log points."""
        budget = self.config.train.max_minutes * 60
        if budget <= 0:
            return False
        if not self.context.distributed:
            return self.train_seconds >= budget
        if self.step % self.config.train.log_every:
            return False
        _, (within,) = self.context.agree([], [self.train_seconds < budget])
        return not within

    def _finish(self, stop: StopRequest, loggers: RunLoggers | None) -> TrainResult:
        epochs = self.config.train.epochs
        if self.step < self.total_steps:  # train.max_minutes ended it: no epoch checkpoint to name
            self._emit("budget", stop, metrics={"minutes": self.train_seconds / 60})
        elif epochs % self.config.train.save_every == 0:
            self._save(self.folder.epoch_checkpoint(epochs), stop)
        self._save(self.folder.final_checkpoint(), stop)
        self._sample(f"epoch_{self.epoch}", stop, loggers)
        evaluation = self._evaluate(stop, loggers) if self.config.train.eval_at_end else {}
        self._emit("end", stop, path=self.last_checkpoint)
        return self._result(evaluation=evaluation)

    def _result(self, interrupted: bool = False, evaluation: dict[str, float] | None = None) -> TrainResult:
        return TrainResult(
            self.folder.path, self.step, self.last_checkpoint, interrupted, dict(self.last_metrics), evaluation or {}
        )

    # -- reporting -----------------------------------------------------------------------
    def _open_folder(self) -> RunLoggers | None:
        """Create the run folder (rank 0; config.yaml notes the device and precision chosen) and open
        ``train.loggers``, which continue at the resumed step."""
        if not self.context.is_main:
            return None
        train = self.config.train
        note = f"ran on {self.context.device} (train.device={train.device}), precision {self.precision}"
        self.folder.create(self.config, resume=self.resumed, note=note)
        loggers = open_loggers(train.loggers, self.folder, self.config, self.step)
        if self.resumed:
            self.last_checkpoint = self.folder.newest_checkpoint()
        return loggers

    def _emit(self, kind: str, stop: StopRequest | None, **fields: Any) -> None:
        """Report to the callback on rank 0; a KeyboardInterrupt from it is a stop request (while ``stop``
        is given: in the loop)."""
        if self.callback is None or not self.context.is_main:
            return
        fields.setdefault("metrics", self.last_metrics)
        event = TrainEvent(kind, self.step, self.total_steps, self.epoch, self.config.train.epochs, self.fps, **fields)
        try:
            self.callback(event)
        except KeyboardInterrupt:
            if stop is None:
                raise
            stop.requested = True

    def _stopping(self, stop: StopRequest, boundary: bool) -> bool:
        """Whether to stop now; under torchrun the ranks agree at log points (one collective)."""
        if not self.context.distributed:
            return stop.requested
        if boundary:
            self._sync(stop, log=False)
            return stop.requested
        return False

    def _sync(self, stop: StopRequest, log: bool) -> bool:
        """Check the window for NaN/inf on every rank and agree on stopping; ``log`` averages and clears it.

        Returns whether new metrics were logged. Raises WMError naming the first bad step.
        """
        bad = self.window.first_nonfinite()
        means = self.window.mean() if log and self.window.steps and bad is None else {}
        values, (finite, going) = self.context.agree(list(means.values()), [bad is None, not stop.requested])
        means, stop.requested = dict(zip(means, values)), not going
        if bad is None and not finite:
            bad = (self.window.steps[0], "loss (on another rank)")
        if bad is not None:
            where = "no checkpoint had been written yet"
            if self.last_checkpoint:
                where = f"the last good checkpoint {self.last_checkpoint} is intact"
            raise WMError(
                f"training diverged: '{bad[1]}' became NaN/inf at step {bad[0]}; stopped without saving, "
                f"{where} (try a lower train.lr or train.grad_clip)"
            )
        if means:
            self.last_metrics = {**means, "lr": self.optimizer.param_groups[0]["lr"]}
            self.window.clear()
        return bool(means)

    # -- checkpoints, samples, evaluation --------------------------------------------------
    def _save(self, path: Path, stop: StopRequest) -> None:
        """Write a checkpoint (rank 0) once the window is known finite; ``last.pt`` then points at it."""
        self._sync(stop, log=False)
        if not self.context.is_main:
            return
        training = capture_state(
            step=self.step, epoch=self.epoch, steps_per_epoch=self.steps_per_epoch, world_size=self.context.world_size,
            optimizer=self.optimizer, scheduler=self.scheduler, window=self.window, train_seconds=self.train_seconds,
        )  # fmt: skip
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        checkpoint = Checkpoint(config_to_dict(self.config), self.model.spec, state, self.clips, training)
        save_checkpoint(path, checkpoint)
        self.folder.link_last(path)
        self.last_checkpoint = path
        self._emit("checkpoint", stop, path=path)

    def _sample(self, name: str, stop: StopRequest, loggers: RunLoggers | None) -> None:
        """A context + imagination GIF in samples/ (rank 0), handed to the loggers."""
        if self.context.is_main and self.clips:
            path = write_sample(self.model, self.clips, self.config.train.sample_steps, self.folder.samples / f"{name}.gif")
            if loggers is not None:
                loggers.sample(self.step, path)
            self._emit("sample", stop, path=path)

    def _evaluate(self, stop: StopRequest, loggers: RunLoggers | None) -> dict[str, float]:
        """Held-out scores (rank 0), handed to the loggers (metrics.jsonl: ``eval/...``)."""
        if not self.context.is_main or not self.data.holdout_episodes:
            return {}
        results = evaluate_holdout(self.model, self.data, self.config, self.context.device)
        if loggers is not None:
            loggers.evaluation(self.step, results)
        self._emit("eval", stop, metrics=results)
        return results

    def _push(self, result: TrainResult) -> TrainResult:
        """The final checkpoint to ``train.push_to_hub`` (rank 0, after the other ranks are done), as
        `wm hub push` sends it; a failure is kept in the result, the run stays complete on disk."""
        repo_id = self.config.train.push_to_hub or ""
        final = self.folder.final_checkpoint()
        self._emit("push", None, path=final)
        try:
            url = push_final(final, repo_id, result.evaluation, trust_remote_code=self.trust_remote_code)
        except WMError as err:
            return replace(result, push_error=str(err))
        return replace(result, pushed=url)
