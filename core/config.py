"""Where flowtui keeps its state and finds DAGs: the home directory, `flowtui.toml` in it, and
the DAG folder, resolved as DESIGN.md says (flag, environment, config file, ./dags, samples)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from flowtui.errors import FlowtuiError


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


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where it works; built once by the CLI."""

    home: Path
    dags_folder: Path
    dags_folder_source: str
    """Where dags_folder came from: flag, env, config, ./dags or samples (shown in the header)."""
    parallelism: int = 32
    dag_file_import_timeout: float = 30.0
    task_kill_grace_seconds: float = 5.0

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

    def attempt_log_path(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> Path:
        """`logs/<dag_id>/<run_id>/<task_id>/attempt=<n>.log` under the home (DESIGN.md)."""
        return self.logs_dir / dag_id / run_id / task_id / f"attempt={try_number}.log"

    def ensure_home(self) -> None:
        """Create the home and its logs folder, private to this user (0700)."""
        for folder in (self.home, self.logs_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home.chmod(0o700)


def _samples() -> Path:
    import flowtui.sample_dags as samples  # a package, so that it ships in the wheel

    return Path(samples.__file__).resolve().parent


def load_settings(
    home: str | Path | None = None, dags_folder: str | Path | None = None
) -> Settings:
    """Resolve the home and the DAG folder from flags, environment and `flowtui.toml`.

    Raises:
        ConfigError: flowtui.toml is not valid TOML or holds a value of the wrong type.
    """
    home_path = resolve_home(home)
    config = _read_config(home_path / "flowtui.toml")
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
            raise ConfigError(home_path / "flowtui.toml", f"{key} must be a positive number")
        numbers[key] = type(default)(value)
    return Settings(
        home=home_path,
        dags_folder=folder.expanduser().resolve(),
        dags_folder_source=source,
        parallelism=int(numbers["parallelism"]),
        dag_file_import_timeout=float(numbers["dag_file_import_timeout"]),
        task_kill_grace_seconds=float(numbers["task_kill_grace_seconds"]),
    )


def resolve_home(home: str | Path | None = None) -> Path:
    """The home: `home` if given, else `$FLOWTUI_HOME`, else `~/.flowtui`."""
    chosen = Path(home or os.environ.get("FLOWTUI_HOME") or Path.home() / ".flowtui")
    return chosen.expanduser().resolve()


def _read_config(path: Path) -> dict[str, object]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"not valid TOML ({exc}); fix or delete the file") from None
