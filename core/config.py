"""Where flowtui keeps its state and finds DAGs: the home directory, `flowtui.toml` in it, and
the DAG folder, resolved as DESIGN.md says (flag, environment, config file, ./dags, samples)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from flowtui.alert_config import SmtpSettings, Webhook, read_alert_config
from flowtui.errors import FlowtuiError, HomeNotWritable, HomeOfAnotherUser
from flowtui.executor_config import DaskSettings, read_executor_config
from flowtui.records import FrozenRecord


class ConfigError(FlowtuiError):
    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")


_SAMPLES = "bundled samples"
"""`Settings.dags_folder_source` when no DAG folder is configured and the samples are used."""

_DEFAULTS: dict[str, int | float] = {
    "parallelism": 32,
    "dag_file_import_timeout": 30.0,
    "task_kill_grace_seconds": 5.0,
}
_KEYS = frozenset(
    {
        "dags_folder",
        "smtp",
        "notify",
        "dashboard",
        "log_retention_days",
        "executor",
        "dask",
        *_DEFAULTS,
    }
)
"""The keys `flowtui.toml` may set; any other is warned about and ignored."""

USER_UMASK_ENV = "FLOWTUI_USER_UMASK"
"""The user's umask (octal text) from before `keep_files_private`, for task code to get back."""


class Settings(FrozenRecord):
    """Everything a command needs to know about where it works; built once by the CLI.

    What a frozen dataclass would be, written out: every command imports this module, and a
    dataclass costs ~1 ms at import to compile its methods. Immutable; equality, hash and repr
    over the fields, in order."""

    __slots__ = (
        "_logs_text",
        "config_warnings",
        "dag_file_import_timeout",
        "dags_folder",
        "dags_folder_source",
        "dask",
        "executor",
        "home",
        "log_retention_days",
        "parallelism",
        "smtp",
        "task_kill_grace_seconds",
        "webhooks",
    )
    _fields = (
        "home",
        "dags_folder",
        "dags_folder_source",
        "parallelism",
        "dag_file_import_timeout",
        "task_kill_grace_seconds",
        "config_warnings",
        "smtp",
        "webhooks",
        "log_retention_days",
        "executor",
        "dask",
    )

    home: Path
    dags_folder: Path
    dags_folder_source: str
    """Where dags_folder came from: flag, env, config, ./dags or samples (shown in the header)."""
    parallelism: int
    dag_file_import_timeout: float
    task_kill_grace_seconds: float
    config_warnings: tuple[str, ...]
    """One line per problem in flowtui.toml that did not stop flowtui (an unknown key)."""
    smtp: SmtpSettings
    """`[smtp]`: how alert mail and EmailOperator's mail go out (no host: none can)."""
    webhooks: tuple[Webhook, ...]
    """`[[notify.webhook]]` entries: where alerts are posted."""
    log_retention_days: float | None
    """Attempt logs not written to for this many days are removed by the scheduler (the
    store's history of their runs stays); None keeps every log."""
    executor: str
    """Where attempts run: "local" (the fork server) or "dask" (`dask`)."""
    dask: DaskSettings
    """`[dask]`: the cluster attempts go to with executor "dask"."""
    _logs_text: str

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        dags_folder_source: str,
        parallelism: int = 32,
        dag_file_import_timeout: float = 30.0,
        task_kill_grace_seconds: float = 5.0,
        config_warnings: tuple[str, ...] = (),
        smtp: SmtpSettings = SmtpSettings(),  # noqa: B008  # immutable
        webhooks: tuple[Webhook, ...] = (),
        log_retention_days: float | None = None,
        executor: str = "local",
        dask: DaskSettings = DaskSettings(),  # noqa: B008  # immutable
    ) -> None:
        set_field = object.__setattr__
        set_field(self, "home", home)
        set_field(self, "dags_folder", dags_folder)
        set_field(self, "dags_folder_source", dags_folder_source)
        set_field(self, "parallelism", parallelism)
        set_field(self, "dag_file_import_timeout", dag_file_import_timeout)
        set_field(self, "task_kill_grace_seconds", task_kill_grace_seconds)
        set_field(self, "config_warnings", config_warnings)
        set_field(self, "smtp", smtp)
        set_field(self, "webhooks", webhooks)
        set_field(self, "log_retention_days", log_retention_days)
        set_field(self, "executor", executor)
        set_field(self, "dask", dask)
        set_field(self, "_logs_text", str(home / "logs"))  # for attempt_log_file

    @property
    def uses_bundled_samples(self) -> bool:
        """Whether the DAG folder is the samples inside the installed package (read only)."""
        return self.dags_folder_source == _SAMPLES

    @property
    def db_path(self) -> Path:
        return self.home / "flowtui.db"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def lock_path(self) -> Path:
        return self.home / "scheduler.lock"

    def attempt_log_path(
        self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
    ) -> Path:
        """`logs/<dag_id>/<run_id>/<task_id>/attempt=<n>.log` under the home (DESIGN.md); a
        mapped task's instance N logs in `<task_id>/map_index=N/`."""
        return Path(self.attempt_log_file(dag_id, run_id, task_id, try_number, map_index))

    def attempt_log_file(
        self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
    ) -> str:
        """`attempt_log_path` as text, for the scheduler's path (one per attempt queued): a
        string format instead of four Path joins (16 -> 0.2 us a call)."""
        if map_index >= 0:
            task_id = f"{task_id}/map_index={map_index}"
        return f"{self._logs_text}/{dag_id}/{run_id}/{task_id}/attempt={try_number}.log"

    def ensure_home(self) -> None:
        """Create the home and its logs folder, private to this user (0700), or say in one line
        why this user cannot keep state there (before any file is written, so nothing is left
        half made).

        Raises:
            HomeOfAnotherUser: the home belongs to another user (its files would become ours).
            HomeNotWritable: the home or its logs folder cannot be made or written.
        """
        for folder in (self.home, self.logs_dir):
            make_private_folder(folder)
            _check_writable(folder)


def make_private_folder(path: Path) -> None:
    """Create `path` and its missing parents 0700 whatever the umask, and take the group and
    other bits off `path` if it has them (a home made by hand with mkdir is 0755).

    Raises:
        HomeOfAnotherUser: `path` belongs to another user (root would change it; nobody should).
        HomeNotWritable: a folder cannot be made or changed (read-only file system, no right).
    """
    try:
        missing = [folder for folder in (path, *path.parents) if not folder.exists()]
        for folder in reversed(missing):
            folder.mkdir(mode=0o700, exist_ok=True)
            folder.chmod(0o700)  # mkdir's mode went through the umask
        _check_owner(path)
        mode = path.stat().st_mode
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except OSError as exc:
        raise HomeNotWritable(path, _reason(exc)) from None


def _check_owner(path: Path) -> None:
    def name(uid: int) -> str:
        import pwd  # user names, only to say whose it is (every command checks the owner)

        try:
            return f"user {pwd.getpwuid(uid).pw_name}"
        except KeyError:
            return f"uid {uid}"

    owner = path.stat().st_uid
    if owner != os.geteuid():
        raise HomeOfAnotherUser(path, name(owner), name(os.geteuid()))


def _check_writable(folder: Path) -> None:
    """Say now, naming the folder, what SQLite or a log file would otherwise fail on later."""
    if not os.access(folder, os.W_OK | os.X_OK):
        read_only = os.statvfs(folder).f_flag & os.ST_RDONLY
        raise HomeNotWritable(folder, "read-only file system" if read_only else "permission denied")


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def keep_files_private() -> None:
    """Make every file and folder this process and its children create private to the user
    (umask 077), whichever way they are opened (logging's FileHandler, SQLite's journal). The
    user's own umask goes to FLOWTUI_USER_UMASK for `restore_user_umask`. Called once, first
    thing, by the command line; a second call in one process keeps the first one's record."""
    user = os.umask(0o077)
    if user != 0o077 or USER_UMASK_ENV not in os.environ:
        os.environ[USER_UMASK_ENV] = f"{user:03o}"


def restore_user_umask() -> None:
    """Give task code the user's umask back: what a task writes is the user's, not flowtui's,
    and keeps the permissions the user would get running it by hand."""
    # Without the variable (a test, a library use) the command line set no umask to undo.
    with contextlib.suppress(KeyError, ValueError):
        os.umask(int(os.environ[USER_UMASK_ENV], 8) & 0o777)


def _samples() -> Path:
    import flowtui.sample_dags as samples  # a package, so that it ships in the wheel

    return Path(samples.__file__).resolve().parent


def load_settings(
    home: str | Path | None = None, dags_folder: str | Path | None = None
) -> Settings:
    """Resolve the home and the DAG folder from flags, environment and `flowtui.toml`.

    Raises:
        ConfigError: flowtui.toml is not valid TOML or holds a value of the wrong type.
        AlertConfigError: a value of `[smtp]` or `[[notify.webhook]]` is wrong (named by key).
        ExecutorConfigError: `executor` or `[dask]` is wrong (named by key).
    """
    home_path = resolve_home(home)
    config_path = home_path / "flowtui.toml"
    config = _read_config(config_path)
    if dags_folder:
        folder, source = Path(dags_folder), "--dags-folder"
    elif os.environ.get("FLOWTUI_DAGS_FOLDER"):
        folder, source = Path(os.environ["FLOWTUI_DAGS_FOLDER"]), "FLOWTUI_DAGS_FOLDER"
    elif config.get("dags_folder"):
        folder, source = Path(str(config["dags_folder"])), "flowtui.toml"
    elif Path("dags").is_dir():
        folder, source = Path("dags"), "./dags"
    else:
        folder, source = _samples(), _SAMPLES
    numbers = {}
    for key, default in _DEFAULTS.items():
        value = config.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError(config_path, f"{key} must be a positive number")
        numbers[key] = type(default)(value)
    alerts = read_alert_config(config, config_path)
    executors = read_executor_config(config, config_path)
    _dashboard_notify(config, config_path)  # a wrong value stops every command, not only `flowtui`
    unknown = tuple(_unknown_key(config_path, key) for key in config if key not in _KEYS)
    return Settings(
        home=home_path,
        dags_folder=folder.expanduser().resolve(),
        dags_folder_source=source,
        parallelism=int(numbers["parallelism"]),
        dag_file_import_timeout=float(numbers["dag_file_import_timeout"]),
        task_kill_grace_seconds=float(numbers["task_kill_grace_seconds"]),
        config_warnings=unknown + alerts.warnings + executors.warnings,
        smtp=alerts.smtp,
        webhooks=alerts.webhooks,
        log_retention_days=_log_retention_days(config, config_path),
        executor=executors.executor,
        dask=executors.dask,
    )


def _log_retention_days(config: dict[str, object], path: Path) -> float | None:
    value = config.get("log_retention_days")
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ConfigError(
            path, f"log_retention_days must be a number of days > 0, not {value!r}; or leave it out"
        )
    return float(value)


def dags_folder_problem(folder: Path) -> str | None:
    """Why the DAG folder gives nothing to load (missing, not a folder, no `.py` file in it
    or below), in one line that says what to do; None when it holds a Python file."""
    setting = "--dags-folder, FLOWTUI_DAGS_FOLDER or dags_folder in flowtui.toml"
    if not folder.exists():
        return f"DAG folder {folder} does not exist; create it, or point {setting} at your DAGs"
    if not folder.is_dir():
        return f"DAG folder {folder} is not a folder; point {setting} at the folder of your DAGs"
    if next(folder.rglob("*.py"), None) is None:
        return f"DAG folder {folder} holds no .py file; add DAG files, or point {setting} elsewhere"
    return None


def load_smtp(home: Path) -> SmtpSettings:
    """The `[smtp]` section of the home's `flowtui.toml` alone (what a task that sends mail
    needs, without resolving the DAG folder).

    Raises:
        ConfigError, AlertConfigError: as `load_settings`.
    """
    path = home / "flowtui.toml"
    return read_alert_config(_read_config(path), path).smtp


def load_dashboard_notify(home: Path) -> bool:
    """`[dashboard] notify` of the home's `flowtui.toml` (default true): whether an open
    dashboard rings the bell and sends a desktop notification when a task fails.

    Raises:
        ConfigError: as `load_settings`.
    """
    path = home / "flowtui.toml"
    return _dashboard_notify(_read_config(path), path)


def _dashboard_notify(config: dict[str, object], path: Path) -> bool:
    section = config.get("dashboard", {})
    if not isinstance(section, dict):
        raise ConfigError(path, "dashboard must be a table: [dashboard] then notify = true|false")
    notify = section.get("notify", True)
    if not isinstance(notify, bool):
        raise ConfigError(path, f"dashboard.notify must be true or false, not {notify!r}")
    return notify


def resolve_home(home: str | Path | None = None) -> Path:
    """The home: `home` if given, else `$FLOWTUI_HOME`, else `~/.flowtui`."""
    chosen = Path(home or os.environ.get("FLOWTUI_HOME") or Path.home() / ".flowtui")
    return chosen.expanduser().resolve()


def _read_config(path: Path) -> dict[str, object]:
    """The config file's table; {} when there is none (then tomllib is never imported)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(path, f"cannot be read ({_reason(exc)}); fix or delete it") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            path,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            f"save it as UTF-8 (TOML files are UTF-8)",
        ) from None
    import tomllib  # only when a config file exists: most homes have none

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"not valid TOML ({exc}); fix or delete the file") from None


def _unknown_key(path: Path, key: str) -> str:
    import difflib  # only for a config file with a mistyped key

    close = difflib.get_close_matches(key, sorted(_KEYS), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{path}: unknown key {key!r} is ignored; {hint}known keys: {', '.join(sorted(_KEYS))}"
