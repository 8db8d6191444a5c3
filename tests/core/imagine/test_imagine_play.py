"""Play headless (SDL dummy driver): scripted keys reach the model as actions; the recording holds what was shown."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from squares import ShiftModel, move

from wm.core.checkpoint import Checkpoint
from wm.core.imagine import ImaginationEngine
from wm.core.imagine.context import checkpoint_clips
from wm.core.imagine.video import upscale

pygame = pytest.importorskip("pygame")


@pytest.fixture(autouse=True)
def headless(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")


def key(kind: int, name: str) -> pygame.event.Event:
    return pygame.event.Event(kind, key=pygame.key.key_code(name))


def down(name: str) -> pygame.event.Event:
    return key(pygame.KEYDOWN, name)


def up(name: str) -> pygame.event.Event:
    return key(pygame.KEYUP, name)


def test_keys_reach_the_model_and_the_recording_holds_the_shown_frames(tmp_path: Path, shift_checkpoint: Checkpoint) -> None:
    from wm.core.imagine.play import PlaySession

    model = ShiftModel()
    clips = checkpoint_clips(shift_checkpoint)
    session = PlaySession(ImaginationEngine(model), clips, scale=2, fps=0, record=tmp_path / "rec.gif", seed=0)
    start = clips[0][session.clip, -1]
    script = [
        [down("right")],  # RIGHT
        [],  # still held
        [up("right"), down("space")],  # FIRE
        [up("space")],  # nothing held: NOOP
        [down("5")],  # raw index 5: DOWN
        [up("5"), down("p")],  # paused: no step
        [down(".")],  # one step while paused: NOOP
        [down("p"), down("left")],  # LEFT
        [down("r")],  # reset to another clip, LEFT still held
        [down("escape")],  # quit: no step
    ]
    shown = [session.tick(events) for events in script]
    assert [a.tolist() for a in model.seen] == [[[3]], [[3]], [[1]], [[0]], [[5]], [[0]], [[4]], [[4]]]
    assert not session.running and session.resets == 2 and session.steps == 1
    expected = start
    for action in (3, 3, 1, 0, 5):
        expected = move(expected, action)
    left = (session.size[0] - 32) // 2
    view = lambda picture: picture[:32, left : left + 32]  # noqa: E731
    assert np.array_equal(view(shown[4]), upscale(expected.transpose(1, 2, 0), 2))
    assert np.array_equal(view(shown[5]), view(shown[4]))  # paused
    path = session.close()
    recorded = iio.imread(path, index=None)[..., :3]
    # a GIF stores a run of identical frames once, for their summed duration
    distinct = [p for i, p in enumerate(shown) if i == 0 or not np.array_equal(p, shown[i - 1])]
    assert recorded.shape == (len(distinct), *shown[0].shape) and len(distinct) >= len(script) - 2
    for frame, picture in zip(recorded, distinct):
        assert np.array_equal(view(frame), view(picture))
        assert np.abs(frame.astype(int) - picture).mean() < 2  # the HUD too (GIF palette aside)


def test_play_loop_reads_the_pygame_queue_and_stops(tmp_path: Path, shift_checkpoint: Checkpoint) -> None:
    from wm.core.imagine.play import play

    model = ShiftModel()
    calls = []

    def events() -> list[pygame.event.Event]:
        calls.append(1)
        if len(calls) == 1:
            pygame.event.post(down("up"))
        if len(calls) == 3:
            pygame.event.post(down("escape"))
        return pygame.event.get()

    stats = play(ImaginationEngine(model), checkpoint_clips(shift_checkpoint), fps=0, events=events)
    assert (stats.steps, stats.ticks, stats.record) == (2, 3, None)
    assert [a.tolist() for a in model.seen] == [[[2]], [[2]]]
    limited = play(ImaginationEngine(model), checkpoint_clips(shift_checkpoint), fps=0, steps=4, record=tmp_path / "r.mp4")
    assert limited.steps == 4 and iio.imread(limited.record, index=None).shape[0] == 4
