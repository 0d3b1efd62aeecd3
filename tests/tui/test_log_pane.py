"""The log pane on its own: a 200 MB log opens at its last lines, jumps to its first line and is
searched near both ends without reading it whole; a live log's new lines appear unasked, and
a truncated one is shown from its new end."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from flowtui.tui.widgets.log_file import MAX_WINDOW, POLL_SECONDS, AttemptLog, read_chunk
from flowtui.tui.widgets.log_pane import LogPane
from flowtui.tui.widgets.log_view import LogView
from tests.tui.conftest import wait_for

BLOCK_LINES = 13_000


class PaneApp(App[None]):
    """Just the pane, as a screen would hold it."""

    def compose(self) -> ComposeResult:
        yield LogPane()


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """About 200 MB: a first line, the same 1 MB block 200 times, two last lines."""
    path = tmp_path_factory.mktemp("big") / "attempt=1.log"
    block = "".join(f"filler {i:06d} the quick brown fox jumps\n" for i in range(BLOCK_LINES))
    data = block.encode()[: 1024 * 1024]
    data = data[: data.rfind(b"\n") + 1]
    with path.open("wb") as file:
        file.write(b"first line: alpha-needle\n")
        for _ in range(200):
            file.write(data)
        file.write(b"second to last: omega-needle\nthe very last line\n")
    yield path
    path.unlink()


def _text(pane: LogPane) -> str:
    return "\n".join(pane.log_view.visible_lines)


def test_read_chunk_keeps_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"one\ntwo\nthree\nfour")
    chunk = read_chunk(path, 5, 16)  # starts inside "two", stops inside "four"
    assert (chunk.lines, chunk.offsets, chunk.end) == (["three"], [8], 14)
    chunk = read_chunk(path, 2, None)
    assert chunk.lines == ["two", "three", "four"]
    assert chunk.offsets == [4, 8, 14]
    assert chunk.has_partial
    assert chunk.end == 14
    assert read_chunk(path, 0, 8, stop_is_line=True).lines == ["one", "two"]


async def test_a_200_mb_log_opens_at_its_end_and_jumps_to_its_start(big_log: Path) -> None:
    async with PaneApp().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.set_attempts([AttemptLog(1, big_log, "success", is_running=False)])
        pane.log_view.focus()
        await wait_for(pilot, lambda: _text(pane).endswith("the very last line"), 5)
        assert "omega-needle" in _text(pane)
        start, end = pane.log_view.window
        assert end == big_log.stat().st_size
        assert end - start <= MAX_WINDOW

        await pilot.press("g")
        await wait_for(pilot, lambda: _text(pane).startswith("first line: alpha-needle"), 5)
        assert pane.log_view.window[0] == 0

        await pilot.press("G")
        await wait_for(pilot, lambda: _text(pane).endswith("the very last line"), 5)
        view = pane.log_view
        start, _ = view.window
        view.scroll_to(y=0, animate=False, immediate=True, force=True)  # a drag to the top
        top_line = view.visible_lines[0]
        await wait_for(pilot, lambda: view.window[0] < start, 5)  # more was read above it
        assert view.visible_lines[0] == top_line  # and the view did not jump
        await pilot.press("pageup", "k")
        assert view.visible_lines[0].startswith("filler ")
        assert view.visible_lines[0] != top_line


async def test_search_finds_lines_near_both_ends(big_log: Path) -> None:
    async with PaneApp().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.set_attempts([AttemptLog(1, big_log, "success", is_running=False)])
        pane.log_view.focus()
        await wait_for(pilot, lambda: _text(pane).endswith("the very last line"), 5)

        await pilot.press("slash", *"alpha-needle", "enter")
        await wait_for(pilot, lambda: "first line: alpha-needle" in _text(pane), 10)
        assert pane.log_view.note == "wrapped"

        await pilot.press("slash")
        pane.search_box.value = "NEEDLE"  # case-insensitive, from the first line in view
        await pilot.press("enter")
        await wait_for(pilot, lambda: pane.log_view.match == len(b"first line: alpha-"), 10)
        await pilot.press("n")  # the next match is 200 MB further
        await wait_for(pilot, lambda: "second to last: omega-needle" in _text(pane), 10)
        await pilot.press("n")  # past the end: wraps to the start
        await wait_for(pilot, lambda: _text(pane).startswith("first line: alpha-needle"), 10)
        assert pane.log_view.note == "wrapped"
        await pilot.press("N")  # and back, wrapping the other way
        await wait_for(pilot, lambda: "second to last: omega-needle" in _text(pane), 10)


async def test_a_live_log_shows_new_lines_without_a_key(tmp_path: Path) -> None:
    path = tmp_path / "attempt=1.log"
    path.write_text("".join(f"early {i}\n" for i in range(100)))
    async with PaneApp().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(LogPane)
        pane.set_attempts([AttemptLog(1, path, "running", is_running=True)])
        await wait_for(pilot, lambda: _text(pane).endswith("early 99"), 5)
        with path.open("a") as file:
            file.write("late 1\nlate 2 (no newline yet)")
        await wait_for(pilot, lambda: _text(pane).endswith("late 2 (no newline yet)"), 5)
        with path.open("a") as file:
            file.write(" done\nlate 3\n")
        await wait_for(pilot, lambda: _text(pane).endswith("late 3"), 5)
        assert "late 2 (no newline yet) done" in _text(pane)
        assert pane.log_view.is_following

        await pilot.press("f")  # follow off: new lines arrive, the view stays
        await wait_for(pilot, lambda: not pane.log_view.follow, 2)
        pane.log_view.scroll_to(y=0, animate=False, immediate=True, force=True)
        with path.open("a") as file:
            file.write("".join(f"later {i}\n" for i in range(50)))
        await wait_for(pilot, lambda: pane.log_view.lines[-1] == "later 49", 5)
        assert _text(pane).startswith("early 0")

        pane.set_attempts([AttemptLog(1, path, "success", is_running=False)])
        await pilot.press("f")  # follow on again: jumps to the last line
        await wait_for(pilot, lambda: _text(pane).endswith("later 49"), 5)


class ViewApp(App[None]):
    """Just the view, counting the `Changed` messages it posts (each one redraws the pane)."""

    def __init__(self) -> None:
        super().__init__()
        self.changes = 0

    def compose(self) -> ComposeResult:
        yield LogView()

    def on_log_view_changed(self) -> None:
        self.changes += 1


async def _live_view(pilot: Pilot[None], path: Path, words: str) -> LogView:
    """The app's view on a live log of 100 lines (`words 0` to `words 99`), at its end."""
    path.write_text("".join(f"{words} {i}\n" for i in range(100)))
    view = pilot.app.query_one(LogView)
    view.open(path, is_live=True)
    await wait_for(pilot, lambda: view.lines[-1:] == [f"{words} 99"], 5)
    return view


async def test_a_truncated_live_log_shows_its_new_lines_and_the_poll_settles(
    tmp_path: Path,
) -> None:
    path = tmp_path / "attempt=1.log"
    app = ViewApp()
    async with app.run_test(size=(100, 30)) as pilot:
        view = await _live_view(pilot, path, "before the cut")
        path.write_text("after 1\nafter 2\n")
        size = path.stat().st_size
        await wait_for(pilot, lambda: view.lines == ["after 1", "after 2"], 5)
        await pilot.pause(0.1)
        assert (view.file_size, view.window) == (size, (0, size))
        changes = app.changes
        await pilot.pause(4 * POLL_SECONDS)  # polls that find nothing new change nothing
        assert app.changes == changes

        view.is_live = False  # one last poll, then the timer stops: later writes go unread
        await pilot.pause(2 * POLL_SECONDS)
        with path.open("a") as file:
            file.write("written after the attempt ended\n")
        await pilot.pause(4 * POLL_SECONDS)
        assert (view.lines, view.file_size) == (["after 1", "after 2"], size)


async def test_following_fills_blank_rows_and_scrolls_by_half_a_page(tmp_path: Path) -> None:
    """Each new line of a followed log takes a blank row under the last one (only that row is
    drawn again); the view moves, by half a page, only when none is left. Scrolling a row per
    line redrew the whole pane for every line (issue 13, point 3)."""
    path = tmp_path / "attempt=1.log"
    app = ViewApp()
    async with app.run_test(size=(100, 30)) as pilot:
        view = await _live_view(pilot, path, "early")
        height = view.scrollable_content_region.height
        tops = [view.scroll_y]
        for i in range(height):
            with path.open("a") as file:
                file.write(f"late {i}\n")
            line = f"late {i}"
            await wait_for(pilot, lambda: view.lines[-1:] == [line], 5)  # noqa: B023
            assert view.visible_lines[-1] == line  # blank rows are not lines
            assert view.is_following
            tops.append(view.scroll_y)
        moves = [b - a for a, b in pairwise(tops) if b != a]
        assert moves == [height // 2 + 1, height // 2 + 1]  # the new line, half a page blank

        view.is_live = False  # the attempt ended: no blank rows left under its last line
        await pilot.pause(0.1)
        assert view.visible_lines[-1] == f"late {height - 1}"
        assert view.scroll_y == view.max_scroll_y
