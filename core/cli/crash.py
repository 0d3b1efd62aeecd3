"""Where the traceback of a bug goes: a private file under the home (`logs/flowtui-crash.log`),
else under the user's own state folder (`$XDG_STATE_HOME/flowtui`, by default
`~/.local/state/flowtui`), never a folder other users share such as /tmp, where anyone could
read it or plant a symlink in its place."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from flowtui.config import make_private_folder, resolve_home
from flowtui.errors import FlowtuiError

_NAME = "flowtui-crash.log"


def save_traceback(home: str | None) -> str:
    """Append the exception being handled to the crash log; returns the words that tell the
    user where it went ("traceback in PATH"), or why it went nowhere."""
    import traceback  # only once something went wrong

    text = f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n"
    text += traceback.format_exc()
    tried = []
    for folders in _places(home):
        try:
            for folder in folders:
                make_private_folder(folder)  # each one checked: ours, writable
            _append(folders[-1] / _NAME, text)
        except (OSError, FlowtuiError):
            tried.append(str(folders[-1]))
            continue
        return f"traceback in {folders[-1] / _NAME}"
    return f"no traceback saved: cannot write to {' or '.join(tried)}"


def _places(home: str | None) -> list[tuple[Path, ...]]:
    """Where the crash log may go, best first, each as the folders to make on the way: the
    home's logs folder if the home exists (a crash makes no home), then the user's state
    folder."""
    places: list[tuple[Path, ...]] = []
    try:
        home_path = resolve_home(home)
        if home_path.is_dir():
            places.append((home_path, home_path / "logs"))
        state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
        places.append((Path(state) / "flowtui",))
    except (OSError, RuntimeError):  # no HOME and no passwd entry: Path.home() fails
        pass
    return places


def _append(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, text.encode(errors="replace"))
    finally:
        os.close(fd)
