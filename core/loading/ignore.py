"""Ignore files in the DAG folder: `.flowtuiignore` and Airflow's `.airflowignore`, in the folder
or any folder below it, each excluding paths below its own folder, as in Airflow.

Syntax: `.airflowignore` lines are regular expressions (Airflow's default,
`dag_ignore_file_syntax = regexp`), searched for in the path relative to the ignore file's
folder; `.flowtuiignore` lines are globs. A first line `# syntax: glob` or `# syntax: regexp`
switches either file. A glob without "/" matches any file or folder name below (`tmp_*`); one
with "/" matches the relative path from the ignore file's folder, or a folder on it (`old/`,
`reports/*.py`). Text after `#` is a comment; `!` (negation) is not supported. A bad regular
expression is logged and skipped."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path

logger = logging.getLogger(__name__)

IGNORE_FILES = {".flowtuiignore": "glob", ".airflowignore": "regexp"}
"""Each ignore file's name and its syntax unless its first line names another."""

_Rule = Callable[[str], bool]
"""Whether a path (relative to the ignore file's folder, with "/") is ignored."""

_SYNTAX = re.compile(r"#\s*syntax\s*:\s*(glob|regexp)\s*$", re.IGNORECASE)

_cache: dict[str, tuple[int, list[_Rule]]] = {}
"""Ignore file -> (its mtime_ns, its rules), so that a folder of files reads each once."""


def is_ignored(path: Path, folder: Path) -> bool:
    """Whether an ignore file in `folder`, or in a folder between it and `path`, excludes
    `path` (which lies under `folder`)."""
    relative = path.relative_to(folder).parts
    for depth in range(len(relative)):
        base = folder.joinpath(*relative[:depth])
        below = "/".join(relative[depth:])
        for name in IGNORE_FILES:
            if any(rule(below) for rule in _rules(base / name)):
                return True
    return False


def is_ignore_file(path: str) -> bool:
    return os.path.basename(path) in IGNORE_FILES


def _rules(ignore_file: Path) -> list[_Rule]:
    try:
        mtime = ignore_file.stat().st_mtime_ns
    except OSError:
        _cache.pop(str(ignore_file), None)
        return []
    cached = _cache.get(str(ignore_file))
    if cached is not None and cached[0] == mtime:
        return cached[1]
    rules = _parse(ignore_file)
    _cache[str(ignore_file)] = (mtime, rules)
    return rules


def _parse(ignore_file: Path) -> list[_Rule]:
    try:
        lines = ignore_file.read_text(errors="replace").splitlines()
    except OSError:
        return []
    syntax = IGNORE_FILES[ignore_file.name]
    chosen = _SYNTAX.match(lines[0].strip()) if lines else None
    if chosen:
        syntax = chosen.group(1).lower()
    rules: list[_Rule] = []
    for number, line in enumerate(lines, 1):
        pattern = line.split("#", 1)[0].strip()
        if not pattern:
            continue
        if pattern.startswith("!"):
            logger.warning(
                "%s:%d: negation (!) is not supported; line skipped", ignore_file, number
            )
        elif syntax == "regexp":
            try:
                rules.append(_regexp(re.compile(pattern)))
            except re.error as exc:
                logger.warning(
                    "%s:%d: bad regular expression skipped: %s", ignore_file, number, exc
                )
        else:
            rules.append(_glob(pattern))
    return rules


def _regexp(regexp: re.Pattern[str]) -> _Rule:
    return lambda relative: regexp.search(relative) is not None


def _glob(pattern: str) -> _Rule:
    pattern = pattern.rstrip("/")
    if "/" not in pattern:
        return lambda relative: any(fnmatchcase(part, pattern) for part in relative.split("/"))
    anchored = pattern.lstrip("/")

    def matches(relative: str) -> bool:
        parts = relative.split("/")
        return any(fnmatchcase("/".join(parts[:n]), anchored) for n in range(1, len(parts) + 1))

    return matches
