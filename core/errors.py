"""Errors a user can cause: each subclass of `FlowtuiError` takes the facts and writes one line
saying where, what went wrong and what to do. The CLI prints them as `flowtui: error: <msg>`."""

from __future__ import annotations

from collections.abc import Iterable


class FlowtuiError(Exception):
    """Base of every error meant for the user; its message is one line."""


def one_line(text: str | None, limit: int) -> str:
    """`text` on one line (each run of spaces and newlines becomes one space), cut to `limit`
    characters with an ellipsis; None gives ""."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- authoring: raised while a DAG file is imported; the loader adds file and line ---


class DagDefinitionError(FlowtuiError):
    """A DAG or task definition is invalid."""


class UnknownTriggerRule(DagDefinitionError):
    def __init__(self, dag_id: str, task_id: str, rule: str, choices: Iterable[str]) -> None:
        super().__init__(
            f"DAG {dag_id!r}, task {task_id!r}: unknown trigger_rule {rule!r}; "
            f"use one of: {', '.join(sorted(choices))}"
        )


class DuplicateTaskId(DagDefinitionError):
    def __init__(self, dag_id: str, task_id: str) -> None:
        super().__init__(
            f"DAG {dag_id!r}: task id {task_id!r} is used twice; give each task its own task_id"
        )


class InvalidId(DagDefinitionError):
    def __init__(self, kind: str, value: object, dag_id: str | None = None) -> None:
        where = f"DAG {dag_id!r}: " if dag_id else ""
        if kind == "group_id":  # the '.' joins a task group's id to its children's
            allowed = "letters, digits, '_' and '-' ('.' joins a task group's id to its tasks')"
        else:
            allowed = "letters, digits, '_', '.' and '-'"
        super().__init__(
            f"{where}{kind} {value!r} is not valid; use only {allowed} (at most 250 characters, "
            f"not '.' or '..')"
        )


class DuplicateGroupId(DagDefinitionError):
    def __init__(self, dag_id: str, group_id: str) -> None:
        super().__init__(
            f"DAG {dag_id!r}: group_id {group_id!r} is used twice (by a task group or a task); "
            f"give each its own id, or pass add_suffix_on_collision=True"
        )


class DagCycle(DagDefinitionError):
    def __init__(self, dag_id: str, cycle: list[str]) -> None:
        path = " >> ".join([*cycle, cycle[0]])
        super().__init__(f"DAG {dag_id!r} has a cycle: {path}; remove one of these dependencies")


class TaskOutsideDag(DagDefinitionError):
    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"task {task_id!r} belongs to no DAG; create it inside `with DAG(...):`, "
            f"a @dag function, or pass dag=..."
        )


class CrossDagDependency(DagDefinitionError):
    def __init__(self, task_id: str, dag_id: str, other_task_id: str, other_dag_id: str) -> None:
        super().__init__(
            f"task {task_id!r} of DAG {dag_id!r} cannot depend on task {other_task_id!r} of "
            f"DAG {other_dag_id!r}; dependencies stay within one DAG"
        )


class InvalidArgument(DagDefinitionError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


class UnsupportedAirflowImport(DagDefinitionError, ImportError):
    """A DAG file asked `airflow` for a module or name flowtui does not provide. An ImportError
    too, so a file's own `try: ... except ImportError:` fallback works as without Airflow."""

    def __init__(self, module: str, names: Iterable[str] = ()) -> None:
        listed = ", ".join(names)
        what = f"{module} ({listed})" if listed else module
        super().__init__(f'flowtui does not support {what}; see README "Airflow compatibility"')
        self.name = module


# --- looking things up from the CLI or the dashboard ---


class DagNotFound(FlowtuiError):
    def __init__(self, dag_id: str, dags_folder: object | None = None) -> None:
        where = f" in {dags_folder}" if dags_folder else ""
        super().__init__(
            f"DAG {dag_id!r} not found{where}; `flowtui dags list` shows the DAGs, "
            f"`flowtui dags errors` the files that failed to load"
        )


class DagNotInStore(FlowtuiError):
    def __init__(self, dag_id: str, home: object | None) -> None:
        store = f"the store of {home}" if home else "the home's store"
        super().__init__(
            f"DAG {dag_id!r} not found in {store}: it has not run there; "
            f"`flowtui dags list` shows the DAG folder's DAGs, `flowtui dags trigger {dag_id}` "
            f"runs one"
        )


class TaskNotFound(FlowtuiError):
    def __init__(self, dag_id: str, task_id: str) -> None:
        super().__init__(
            f"DAG {dag_id!r} has no task {task_id!r}; `flowtui dags list --output json` "
            f"lists its tasks"
        )


class RunNotFound(FlowtuiError):
    def __init__(self, dag_id: str, run_id: str | None) -> None:
        what = f"run {run_id!r}" if run_id else "runs yet"
        super().__init__(
            f"DAG {dag_id!r} has no {what}; `flowtui runs list {dag_id}` shows its runs"
        )


class TaskInstanceNotFound(FlowtuiError):
    def __init__(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, mapped: int = 0
    ) -> None:
        if mapped:  # a mapped task: say which instances there are
            what = f"{task_id!r} [{map_index}]" if map_index >= 0 else repr(task_id)
            super().__init__(
                f"DAG {dag_id!r}, run {run_id!r} has no task instance {what}: {task_id!r} is "
                f"mapped; give --map-index 0 to {mapped - 1}"
            )
            return
        shown = f"{task_id!r} [{map_index}]" if map_index >= 0 else repr(task_id)
        super().__init__(
            f"DAG {dag_id!r}, run {run_id!r} has no task instance {shown}; "
            f"`flowtui runs show {dag_id} {run_id}` lists them"
        )


class MapIndexRefused(FlowtuiError):
    """`tasks test` cannot run the instance a `--map-index` names (or names none of a mapped
    task's instances)."""

    def __init__(self, dag_id: str, task_id: str, reason: str) -> None:
        super().__init__(f"DAG {dag_id!r}, task {task_id!r}: {reason}")


class RunExists(FlowtuiError):
    def __init__(self, dag_id: str, run_id: str) -> None:
        super().__init__(
            f"DAG {dag_id!r} already has a run {run_id!r}; clear it with "
            f"`flowtui tasks clear {dag_id} --run {run_id}` or pick another logical date"
        )


class InvalidInput(FlowtuiError):
    """A value given on the command line or in the dashboard is malformed."""

    def __init__(self, what: str, value: object, fix: str) -> None:
        super().__init__(f"{what} {value!r} is not valid; {fix}")


# --- the process model ---


class SchedulerAlreadyRunning(FlowtuiError):
    def __init__(self, home: object, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"a scheduler already runs on {home} ({who}); stop it first, or run `flowtui` "
            f"to attach a dashboard to it"
        )


class HomeBusy(FlowtuiError):
    def __init__(self, home: object, pid: int | None, seconds: float) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"{home}: waited {seconds:g} s for a command applied without a scheduler "
            f"({who}) to finish; try again when it is done, or stop {who} if it is stuck"
        )


class DagDefinedElsewhere(FlowtuiError):
    def __init__(self, dag_id: str, fileloc: str, home_fileloc: str, home: object) -> None:
        super().__init__(
            f"DAG {dag_id!r} of {fileloc} has the id of {home}'s DAG of {home_fileloc}, "
            f"which this command must not replace; run it on a home of its own (--home DIR), "
            f"or give the --dags-folder that holds {home_fileloc}"
        )


class SchemaTooNew(FlowtuiError):
    def __init__(self, path: object, found: int, known: int) -> None:
        super().__init__(
            f"{path}: database schema version {found} is newer than this flowtui knows "
            f"({known}); upgrade flowtui or use another --home"
        )


class CommandRejected(FlowtuiError):
    """A command (clear, mark, trigger...) cannot be carried out as asked."""


class StoreUnavailable(CommandRejected):
    """The scheduler could not write the command to the store (a full disk)."""

    def __init__(self, path: object, cause: object) -> None:
        super().__init__(
            f"the scheduler could not write to {path}: {cause}; free some space and send "
            f"the command again"
        )


# --- inside a task attempt: templates, XCom, variables ---


class TemplateRenderError(FlowtuiError):
    """A templated field of a task could not be rendered."""

    def __init__(self, task_id: str, field: str, detail: str) -> None:
        super().__init__(f"task {task_id!r}: template field {field!r}: {detail}")


class TemplateFileNotFound(TemplateRenderError):
    """A templated field names a template file (by its extension) that no folder holds."""

    def __init__(self, task_id: str, field: str, name: str, folders: tuple[str, ...]) -> None:
        where = ", ".join(folders) or "no folder (the DAG was not loaded from a file)"
        super().__init__(
            task_id,
            field,
            f"template file {name!r} not found in {where}; put it beside the DAG file or add "
            f"its folder to the DAG's template_searchpath",
        )


class TemplateUndefined(TemplateRenderError):
    """A template used a name the context does not define."""

    def __init__(self, task_id: str, field: str, detail: str) -> None:
        super().__init__(task_id, field, detail)


class XComNotSerializable(FlowtuiError):
    def __init__(self, task_id: str, key: str, type_name: str, inner: str | None = None) -> None:
        what = "return value" if key == "return_value" else f"XCom {key!r}"
        holds = f" holds a value of type {inner!r} that" if inner and inner != type_name else ""
        super().__init__(
            f"task {task_id!r}: {what} of type {type_name!r}{holds} is not JSON-serializable; "
            f"return lists, dicts, strings, numbers, booleans or None"
        )


class XComNotFound(FlowtuiError):
    def __init__(self, task_id: str, upstream_task_id: str, key: str, run_id: str) -> None:
        super().__init__(
            f"task {task_id!r}: needs XCom {key!r} of task {upstream_task_id!r} in run "
            f"{run_id!r}, which was never pushed; push it with ti.xcom_push(key={key!r}, ...)"
        )


class VariableNotFound(FlowtuiError):
    def __init__(self, key: str) -> None:
        env = "FLOWTUI_VAR_" + key.upper()
        super().__init__(
            f"variable {key!r} is not set; set it with `flowtui variables set {key} VALUE` "
            f"or the environment variable {env}"
        )


class TaskCallableFailed(FlowtuiError):
    """User code that prepares an attempt (e.g. a @task.bash function) raised."""

    def __init__(self, task_id: str, exc: BaseException) -> None:
        detail = " ".join(str(exc).split())
        super().__init__(f"task {task_id!r}: {type(exc).__name__}: {detail}".rstrip(": "))


# --- `flowtui crontab import` ---


class CrontabUnreadable(FlowtuiError):
    def __init__(self, source: str, reason: str) -> None:
        super().__init__(
            f"cannot read crontab {source}: {reason}; give a crontab file, or pipe one in: "
            f"crontab -l | flowtui crontab import -"
        )


class CrontabRefused(FlowtuiError):
    def __init__(self, source: str, count: int) -> None:
        super().__init__(
            f"{source}: {count} line(s) cannot be translated (listed above), so nothing was "
            f"written; fix or delete them, or pass --skip-invalid to import the rest"
        )


class CrontabEmpty(FlowtuiError):
    def __init__(self, source: str, skipped: int) -> None:
        why = f" ({skipped} skipped)" if skipped else ""
        super().__init__(f"{source}: no crontab entries to import{why}; nothing was written")


class DagFileExists(FlowtuiError):
    def __init__(self, paths: Iterable[object]) -> None:
        names = ", ".join(str(path) for path in paths)
        super().__init__(
            f"{names}: already exists, so nothing was written; pass --force to overwrite, "
            f"or --into another folder"
        )


class NoDagFolder(FlowtuiError):
    def __init__(self) -> None:
        super().__init__(
            "no DAG folder is configured (flowtui would use its bundled samples); pass "
            "--into DIR or --dags-folder DIR, or set FLOWTUI_DAGS_FOLDER"
        )


# --- schedules: raised while a DAG file is imported or a timetable is built ---


class InvalidSchedule(DagDefinitionError):
    """A DAG's schedule is not a preset, 5-field cron string, timedelta or dataset list."""

    def __init__(self, dag_id: str | None, schedule: object, problem: str) -> None:
        where = f"DAG {dag_id!r}: " if dag_id else ""
        super().__init__(f"{where}schedule {schedule!r} is not valid: {problem}")


class InvalidConf(FlowtuiError):
    """A trigger's conf gives a DAG param a value of the wrong type."""

    def __init__(self, dag_id: str, key: str, value: object, default: object) -> None:
        kind = type(default).__name__
        super().__init__(
            f"DAG {dag_id!r}: conf {key!r} = {value!r} is of type {type(value).__name__}, but "
            f"param {key!r} is of type {kind} (default {default!r}); "
            f"give a value of type {kind} or leave it out"
        )


# --- variables (issue 5) ---


class VariableNotStored(FlowtuiError):
    """`variables delete` of a key the store does not hold."""

    def __init__(self, key: str, env_set: bool) -> None:
        env = "FLOWTUI_VAR_" + key.upper()
        where = f"; it comes from the environment variable {env}: unset it there" if env_set else ""
        super().__init__(
            f"variable {key!r} is not in the store{where or '; see `flowtui variables list`'}"
        )


class VariableNotJson(FlowtuiError):
    """`variables get --json` of a value that is not JSON."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(
            f"variable {key!r} does not hold JSON ({detail}); drop --json to print it as text"
        )


# --- the home and its store (issue 9) ---


class HomeNotUsable(FlowtuiError):
    """The home, or a folder or file flowtui keeps in it, cannot hold this user's state."""


class HomeNotWritable(HomeNotUsable):
    def __init__(self, path: object, reason: str) -> None:
        super().__init__(
            f"{path}: flowtui cannot write there ({reason}); make it writable by you, or use "
            f"another home with --home DIR or FLOWTUI_HOME"
        )


class HomeOfAnotherUser(HomeNotUsable):
    def __init__(self, path: object, owner: str, user: str) -> None:
        super().__init__(
            f"{path} belongs to {owner}, not to {user}; a flowtui home is private to one user: "
            f"use a home of your own (--home DIR or FLOWTUI_HOME), or make it yours (chown -R)"
        )


class StoreDamaged(HomeNotUsable):
    def __init__(self, path: object) -> None:
        super().__init__(
            f"not a flowtui store, or damaged: {path}; move it away or restore a backup"
        )


class StoreNotAccessible(HomeNotUsable):
    def __init__(self, path: object, reason: str) -> None:
        super().__init__(
            f"{path}: cannot open the store ({reason}); make it (and its -wal and -shm files) "
            f"readable and writable by you, or use another home with --home DIR"
        )
