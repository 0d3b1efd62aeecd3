"""Writing one readable DAG file per crontab entry, and the `flowtui crontab import` command
around it; reading the crontab is reader.py's."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

from flowtui.authoring.templating import is_template
from flowtui.config import Settings
from flowtui.crontab.reader import START_DATE, CronEntry, parse_crontab
from flowtui.errors import (
    CrontabEmpty,
    CrontabRefused,
    CrontabUnreadable,
    DagFileExists,
    NoDagFolder,
)

_CHAIN_HINT = """\
# cron knows only the clock: a step that needs another step's output was scheduled "an hour
# after" it, hoping the first had finished. flowtui can wait for it instead: move the other
# entry's BashOperator into this `with DAG(...)` block (and delete its file), give the two
# tasks names, and write `first >> second`. The second then starts as soon as the first
# succeeds, and not at all when it fails."""


# --- writing ---


def render_dag(entry: CronEntry, source: str) -> str:
    """The text of the DAG file for `entry`; `source` names the crontab in its docstring."""
    lines = [
        _literal(_docstring(entry, source)),
        "",
        "from datetime import datetime",
        "from zoneinfo import ZoneInfo",
        "",
        "from flowtui import DAG, BashOperator",
        "",
        _CHAIN_HINT,
        "",
        "with DAG(",
        f"    dag_id={_literal(entry.dag_id)},",
        f"    schedule={_literal(entry.schedule)},",
        f"    start_date=datetime({', '.join(map(str, START_DATE))}, "
        f"tzinfo=ZoneInfo({_literal(entry.timezone)})),",
        "    catchup=False,",
        f"    description={_literal(f'crontab line {entry.line_number}: {entry.line}')},",
        '    tags=["crontab"],',
        ") as dag:",
        "    BashOperator(",
        f"        task_id={_literal(entry.task_id)},",
        f"        bash_command={_literal(bash_command(entry.command, entry.stdin))},",
        *_operator_options(entry),
        "    )",
    ]
    return "\n".join(lines) + "\n"


def bash_command(command: str, stdin: str | None) -> str:
    """`command`, with `stdin` fed to all of it as a quoted (unexpanded) heredoc, protected
    from Jinja, which renders `bash_command`."""
    if stdin is not None:
        body = stdin if stdin.endswith("\n") else stdin + "\n"
        marker = "CRON_STDIN"
        while marker in body.split("\n"):
            marker += "_"
        command = f"{{\n{command}\n}} <<'{marker}'\n{body}{marker}"
    return _no_jinja(command)


def _no_jinja(text: str) -> str:
    # `${#array[@]}` or a `{{` in a command would otherwise be read as a template.
    return f"{{% raw %}}{text}{{% endraw %}}" if is_template(text) else text


def _operator_options(entry: CronEntry) -> list[str]:
    options = []
    if entry.env:
        options.append("        env={")
        options += [
            f"            {_literal(k)}: {_literal(_no_jinja(v))}," for k, v in entry.env.items()
        ]
        options += ["        },", "        append_env=True,"]
    if entry.emails:
        options.append(f"        email=[{', '.join(_literal(a) for a in entry.emails)}],")
        options.append("        email_on_failure=True,")
        options.append("        email_on_retry=False,")
    return options


def _docstring(entry: CronEntry, source: str) -> str:
    mail = (
        f"to {', '.join(entry.emails)} when the task fails (cron's MAILTO; cron also mailed\n"
        f"any output), sent through the [smtp] section of flowtui.toml"
        if entry.emails
        else "none (no MAILTO, or an empty one, applies to this line)"
    )
    return (
        f"Imported by `flowtui crontab import` from {source}, line {entry.line_number}:\n\n"
        f"    {entry.line}\n\n"
        f"Time zone: {entry.timezone}, {entry.zone_source}. cron fires in it, so start_date\n"
        f"carries it and the DAG fires at the same wall-clock times.\n"
        f"Mail: {mail}.\n"
    )


def _literal(text: str) -> str:
    """The most readable Python literal for `text` (raw or triple-quoted when it can be)."""
    candidates = []
    if all(char.isprintable() or char == "\n" for char in text):
        if "\n" in text:
            escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
            candidates += [f'r"""{text}"""', f'"""{escaped}"""']
        elif "\\" in text:
            candidates.append(f'r"{text}"')
        if '"' not in text:
            candidates.append('"' + text.replace("\\", "\\\\") + '"')
    for candidate in candidates:
        try:
            if ast.literal_eval(candidate) == text:
                return candidate
        except (SyntaxError, ValueError):
            continue
    return repr(text)


# --- the command ---


def import_crontab(
    source: str, into: str | None, settings: Settings, *, skip_invalid: bool, force: bool
) -> int:
    """Write a DAG file per entry of the crontab `source` (a path, or `-` for stdin) into
    `into` (default: the DAG folder); print each file on stdout, each bad line on stderr.

    Raises:
        CrontabUnreadable, NoDagFolder, CrontabRefused, CrontabEmpty, DagFileExists.
    """
    text, name = _read(source)
    folder = _folder(into, settings)
    crontab = parse_crontab(text)
    for bad in crontab.bad:
        skipped = "skipped " if skip_invalid else ""
        print(f"{skipped}{name}:{bad.line_number}: {bad.reason} (in: {bad.line})", file=sys.stderr)
    if crontab.bad and not skip_invalid:
        raise CrontabRefused(name, len(crontab.bad))
    if not crontab.entries:
        raise CrontabEmpty(name, len(crontab.bad))
    files = {folder / f"{entry.dag_id}.py": entry for entry in crontab.entries}
    _write({path: render_dag(entry, name) for path, entry in files.items()}, force)
    for path, entry in files.items():
        print(f"wrote {path}  ({entry.dag_id}: {entry.schedule}, {entry.timezone})")
    return 0


def _read(source: str) -> tuple[str, str]:
    if source == "-":
        if sys.stdin.isatty():
            raise CrontabUnreadable("-", "stdin is a terminal")
        return sys.stdin.read(), "<stdin>"
    try:
        return Path(source).read_text(), source
    except (OSError, UnicodeDecodeError) as exc:
        raise CrontabUnreadable(source, getattr(exc, "strerror", None) or str(exc)) from None


def _folder(into: str | None, settings: Settings) -> Path:
    if into is not None:
        return Path(into).expanduser()
    if settings.uses_bundled_samples:  # never write into the installed package
        raise NoDagFolder()
    return settings.dags_folder


def _write(files: dict[Path, str], force: bool) -> None:
    existing = [path for path in files if path.exists()]
    if existing and not force:
        raise DagFileExists(existing)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside, then rename: the DAG folder watcher never sees half a file.
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text)
        os.replace(partial, path)
