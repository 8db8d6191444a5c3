"""Play headless (SDL dummy driver): scripted keys reach the model as actions; the recording holds what was shown."""

from __future__ import annotations

from pathlib import Path

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
from squares import SPEC, ShiftModel, move

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


def test_playing_from_a_recording_scores_each_step_against_it(tmp_path: Path) -> None:
    from wm.core.imagine.context import dataset_context
    from wm.core.imagine.play import PlaySession

    frame = np.zeros((3, 16, 16), dtype=np.uint8)
    frame[:, 4:8, 4:8] = np.array([200, 100, 50], dtype=np.uint8)[:, None, None]
    actions = np.array([3, 3, 3, 3, 2, 0, 0])  # RIGHT, RIGHT | recorded: RIGHT, RIGHT, UP, NOOP
    frames = [frame]
    for action in actions[:-1]:
        frames.append(move(frames[-1], action))
    with h5py.File(tmp_path / "one.h5", "w") as f:
        f["frames"], f["actions"] = np.stack(frames)[None], actions[None]
        f.attrs["action_names"] = list(SPEC.action_names)
    context = dataset_context(tmp_path / "one.h5", SPEC, episode=0, start=0, length=3, steps=100)
    session = PlaySession(ImaginationEngine(ShiftModel()), context, scale=2, fps=0, seed=0)
    assert session.size[1] == 32 + 18 * 5  # two more HUD lines
    assert session.truth_lines() == ["truth: 4 recorded steps follow", "take the recorded actions to compare"]
    lines = []
    for events in ([down("3")], [up("3"), down("4")], [up("4"), down("2")], [up("2")], []):
        session.tick(events)
        lines.append(session.truth_lines())
    colour = np.mean((np.array([200, 100, 50]) / 255) ** 2)  # squared error of a pixel wrong by the square's colour

    def db(wrong: int, moving: int) -> str:
        return f"{-10 * np.log10(wrong / moving * colour):.1f} dB"

    assert lines == [
        ["truth #1  moving PSNR 100.0 dB", "recorded RIGHT: same (1/1)"],
        # LEFT where RIGHT was recorded: back on the last context frame, so wrong on all 16 moving pixels
        [f"truth #2  moving PSNR {db(16, 16)}", "recorded RIGHT: differs (1/2)"],
        # then UP (the recorded action) from there: 14 of the 20 pixels that moved are wrong, and stay so on NOOP
        [f"truth #3  moving PSNR {db(14, 20)}", "recorded UP: same (2/3)"],
        [f"truth #4  moving PSNR {db(14, 20)}", "recorded NOOP: same (3/4)"],
        ["no truth (the recording ends at #4)", "actions matched 3/4"],
    ]
    session.tick([down("r")])  # the same recording again, compared from its first step
    assert session.truth_lines() == [f"truth #1  moving PSNR {db(8, 8)}", "recorded RIGHT: differs (0/1)"]
    session.close()
