"""Play a world model with the keyboard: a pygame window showing the imagined frame and a HUD.

Keys (see ``keys.KeyMap``) choose the action each tick; Enter or R resets to a new context
clip, P pauses, ``.`` steps once while paused, Esc or closing the window quits. The loop is
``PlaySession.tick(events)``, which takes its events as an argument so tests (and scripts)
drive it headless with ``SDL_VIDEODRIVER=dummy``; ``play`` feeds it from pygame's queue.
Played from a dataset ``Context``, two more HUD lines score each imagined frame against the
recorded frame of the same step (moving-pixel PSNR, ``truth.py``) and say whether the action
taken is the recorded one; past the recording they say "no truth".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wm.core.errors import WMError
from wm.core.imagine.context import Context
from wm.core.imagine.engine import ImaginationEngine
from wm.core.imagine.keys import DIGITS, KeyMap
from wm.core.imagine.truth import Recording, StepScore
from wm.core.imagine.video import VideoWriter, to_pictures

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

HUD_LINE = 18  # pixels per HUD text line
HUD_LINES = 3  # status, key help, controls; two more for the truth when playing from a recording
MIN_WIDTH = 256
CONTROLS = "R/Enter reset  P pause  . step  Esc quit"
TEXT_COLOUR = (230, 230, 230)


@dataclass
class PlayStats:
    steps: int  # imagined frames over the whole session
    ticks: int  # frames shown
    resets: int
    record: Path | None


class PlaySession:
    """The state of one play window: engine, context clips, held keys, HUD, optional recording.

    ``clips``: frames uint8 (K, T, C, H, W), actions (K, T[, A]) and, for a model with a state vector,
    states (K, T, S) (``checkpoint_clips``); each reset observes a
    clip drawn with ``seed``'s generator (a different one when K > 1). Or a dataset ``Context``:
    every reset observes it, and the HUD scores the imagination against what followed it.
    """

    def __init__(
        self,
        engine: ImaginationEngine,
        clips: tuple[np.ndarray, ...] | Context,
        *,
        scale: int = 4,
        fps: float = 15,
        record: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        self.engine = engine
        self.truth = Recording(clips) if isinstance(clips, Context) else None
        if isinstance(clips, Context):
            states = None if clips.states is None else clips.states[None]
            clips = (clips.frames[None], clips.actions[None], states)
        self.frames, self.actions = clips[0], clips[1]
        self.states = clips[2] if len(clips) > 2 else None
        self.keymap = KeyMap(engine.spec)
        self.scale, self.fps = scale, fps
        self.rng = np.random.default_rng(seed)
        spec = engine.spec
        self.view = (spec.width * scale, spec.height * scale)
        lines = HUD_LINES + (2 if self.truth is not None else 0)
        self.size = (max(self.view[0], MIN_WIDTH), self.view[1] + HUD_LINE * lines)
        self.writer = VideoWriter(record, fps or 15) if record is not None else None
        try:
            pygame.display.init()
            pygame.font.init()
            self.screen = pygame.display.set_mode(self.size)
        except pygame.error as err:
            if self.writer is not None:
                self.writer.abort()
            raise WMError(f"wm play: no window could be opened ({err}); it needs a display") from None
        pygame.display.set_caption("wm play")
        self.font = pygame.font.Font(None, HUD_LINE + 2)
        self.help_labels = [self.font.render(text, True, TEXT_COLOUR) for text in (self.keymap.help(), CONTROLS)]
        self.clock = pygame.time.Clock()
        self.held: set[str] = set()
        self.last_digit: str | None = None
        self.running, self.paused = True, False
        self.once = False
        self.clip = -1
        self.steps = self.total_steps = self.ticks = self.resets = 0
        self.matched = 0  # steps since the reset whose action was the recorded one
        self.score: StepScore | None = None  # the last imagined frame against the recording
        self.action: int | np.ndarray = self.keymap.action(set())
        self.reset()

    def reset(self) -> None:
        """Observe a new context clip; the picture becomes the model's view of its last frame."""
        count, length = self.frames.shape[:2]
        if self.clip < 0 or count == 1:
            self.clip = int(self.rng.integers(count))
        else:  # a different clip
            self.clip = (self.clip + int(self.rng.integers(1, count))) % count
        clip = slice(self.clip, self.clip + 1)
        states = None if self.states is None else self.states[clip]
        frame = self.engine.reset(self.frames[clip], self.actions[clip, : length - 1], states)
        self.picture = to_pictures(frame)[0]
        self.steps = self.matched = 0
        self.score = None
        self.resets += 1

    def handle(self, event: pygame.event.Event) -> None:
        """Update keys and switches from one pygame event."""
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            name = pygame.key.name(event.key)
            if name == "escape":
                self.running = False
            elif name in ("return", "enter", "r"):
                self.reset()
            elif name == "p":
                self.paused = not self.paused
            elif name == ".":
                self.once = True
            else:
                self.held.add(name)
                self.last_digit = name if name in DIGITS else self.last_digit
        elif event.type == pygame.KEYUP:
            self.held.discard(pygame.key.name(event.key))
        elif event.type == pygame.WINDOWFOCUSLOST:  # key releases are not seen while unfocused
            self.held.clear()

    def tick(self, events: Iterable[pygame.event.Event]) -> np.ndarray:
        """Handle ``events``, imagine one frame unless paused, draw and record; returns the shown picture (H, W, 3)."""
        for event in events:
            self.handle(event)
        if self.running and (not self.paused or self.once):
            self.action = self.keymap.action(self.held, self.last_digit)
            frame = self.engine.step(np.asarray(self.action)[None])
            self.picture = to_pictures(frame)[0]
            self.steps += 1
            self.total_steps += 1
            if self.truth is not None:
                self.score = self.truth.score(self.steps, frame[0].cpu().numpy(), self.action)
                self.matched += bool(self.score and self.score.same_action)
        self.once = False
        shown = self.draw()
        if self.writer is not None:
            self.writer.append(shown)
        self.ticks += 1
        self.clock.tick(self.fps)
        return shown

    def draw(self) -> np.ndarray:
        """Blit the scaled picture and the HUD; returns the window's pixels (H, W, 3)."""
        self.screen.fill((16, 16, 16))
        surface = pygame.surfarray.make_surface(self.picture.transpose(1, 0, 2))
        self.screen.blit(pygame.transform.scale(surface, self.view), ((self.size[0] - self.view[0]) // 2, 0))
        status = f"step {self.steps}  {self.keymap.name(self.action)}  {self.clock.get_fps():.1f} fps"
        status += "  [paused]" if self.paused else ""
        lines = [status, *self.truth_lines()]
        labels = [self.font.render(text, True, TEXT_COLOUR) for text in lines] + self.help_labels  # help never changes
        for line, label in enumerate(labels):
            self.screen.blit(label, (4, self.view[1] + line * HUD_LINE + 2))
        pygame.display.flip()
        return pygame.surfarray.array3d(self.screen).transpose(1, 0, 2).copy()

    def truth_lines(self) -> list[str]:
        """The two HUD lines about the recording (none without one)."""
        if self.truth is None:
            return []
        recorded = len(self.truth)
        if self.steps == 0:
            return [f"truth: {recorded} recorded steps follow", "take the recorded actions to compare"]
        matched = f"{self.matched}/{min(self.steps, recorded)}"
        if self.score is None:
            return [f"no truth (the recording ends at #{recorded})", f"actions matched {matched}"]
        psnr = "nothing moves" if self.score.psnr is None else f"{self.score.psnr:.1f} dB"
        name = self.keymap.name(self.score.recorded)
        same = "same" if self.score.same_action else "differs"
        return [f"truth #{self.steps}  moving PSNR {psnr}", f"recorded {name}: {same} ({matched})"]

    def close(self, keep: bool = True) -> Path | None:
        """Close the window and finish the recording (if any); without ``keep``, or with no frames, drop it."""
        path = None
        if self.writer is not None and keep and self.writer.count:
            path = self.writer.close()
        elif self.writer is not None:
            self.writer.abort()
        pygame.display.quit()
        return path


def play(
    engine: ImaginationEngine,
    clips: tuple[np.ndarray, ...] | Context,
    *,
    scale: int = 4,
    fps: float = 15,
    record: str | Path | None = None,
    seed: int = 0,
    steps: int | None = None,
    events: Callable[[], Iterable[pygame.event.Event]] = pygame.event.get,
) -> PlayStats:
    """Run the window until Esc/close/Ctrl-C (or ``steps`` imagined frames); returns what happened."""
    torch.manual_seed(seed)  # the model's sampling, for a session that replays the same way
    session = PlaySession(engine, clips, scale=scale, fps=fps, record=record, seed=seed)
    try:
        while session.running and (steps is None or session.total_steps < steps):
            session.tick(events())
    except KeyboardInterrupt:
        pass  # a quit like Esc: the recording keeps what was shown
    except BaseException:
        session.close(keep=False)
        raise
    path = session.close()
    return PlayStats(session.total_steps, session.ticks, session.resets - 1, path)
