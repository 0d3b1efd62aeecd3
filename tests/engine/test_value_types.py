"""The values that were dataclasses until start-up time counted (`FileResult`, `Settings`, the
parse messages, `UpstreamCounts`, `VariableRow`, `DatasetUpdate`) behave as those dataclasses
did: the same fields and defaults, a fresh mutable default per value, field-wise equality, the
same repr, immutable where they were frozen, hashable where they were."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest

from flowtui.config import Settings
from flowtui.loading.loader import FileResult
from flowtui.loading.parse import ImportProblem, ParseExit, ParseReport, ParseRequest
from flowtui.scheduling.trigger_rules import UpstreamCounts
from flowtui.spec import DagSpec
from flowtui.store.reads import DatasetUpdate, triggering_updates
from flowtui.store.variables import VariableRow


def test_a_file_result_has_the_defaults_and_a_list_of_its_own() -> None:
    one, two = FileResult("/dags/a.py"), FileResult("/dags/b.py")
    assert (one.specs, one.error, one.preload) == ([], None, "")
    one.specs.append(DagSpec("d", "/dags/a.py"))
    assert two.specs == []


def test_a_file_result_is_mutable_compared_by_fields_and_unhashable() -> None:
    result = FileResult("/dags/a.py", [DagSpec("d", "/dags/a.py")], preload="server")
    same = FileResult("/dags/a.py", specs=[DagSpec("d", "/dags/a.py")], preload="server")
    assert result == same
    result.error = ImportProblem(None, "taken")
    assert result != same
    assert result != ("/dags/a.py",)
    with pytest.raises(TypeError):
        hash(result)
    with pytest.raises(AttributeError):
        result.other = 1  # type: ignore[attr-defined]  # slots: no other attribute


def test_a_file_result_prints_as_the_dataclass_did() -> None:
    result = FileResult("/dags/a.py", error=ImportProblem(3, "SyntaxError: x"))
    assert repr(result) == (
        "FileResult(path='/dags/a.py', specs=[], "
        "error=ImportProblem(line=3, message='SyntaxError: x'), preload='')"
    )


def _settings(**changes: object) -> Settings:
    fields: dict[str, object] = {
        "home": Path("/h"),
        "dags_folder": Path("/d"),
        "dags_folder_source": "flag",
        **changes,
    }
    return Settings(**fields)  # type: ignore[arg-type]


def test_settings_have_the_defaults_and_compare_by_fields() -> None:
    settings = _settings()
    assert (settings.parallelism, settings.dag_file_import_timeout) == (32, 30.0)
    assert (settings.task_kill_grace_seconds, settings.config_warnings) == (5.0, ())
    assert settings == Settings(Path("/h"), Path("/d"), "flag", 32, 30.0, 5.0, ())
    assert hash(settings) == hash(_settings())
    assert settings != _settings(parallelism=4)
    assert settings != _settings(config_warnings=("x",))
    assert repr(settings) == (
        "Settings(home=PosixPath('/h'), dags_folder=PosixPath('/d'), dags_folder_source='flag', "
        "parallelism=32, dag_file_import_timeout=30.0, task_kill_grace_seconds=5.0, "
        "config_warnings=(), smtp=SmtpSettings(host='', port=25, starttls=False, ssl=False, "
        "user='', password_env='', mail_from='flowtui@localhost', timeout=10.0), webhooks=(), "
        "log_retention_days=None, executor='local', dask=DaskSettings(address='', workers=0))"
    )


def test_settings_are_immutable_and_survive_copy_and_pickle() -> None:
    settings = _settings(parallelism=4)
    with pytest.raises(AttributeError):
        settings.parallelism = 8
    with pytest.raises(AttributeError):
        settings.other = 1
    with pytest.raises(AttributeError):
        del settings.home
    for twin in (copy.copy(settings), copy.deepcopy(settings)):
        assert twin == settings
        assert twin.attempt_log_file("d", "r", "t", 1) == "/h/logs/d/r/t/attempt=1.log"
    assert pickle.loads(pickle.dumps(settings)) == settings


def test_the_parse_messages_keep_their_defaults_and_wire_form() -> None:
    report = ParseReport()
    assert (report.specs, report.problem, report.seconds, report.starts_threads) == (
        (),
        None,
        0.0,
        False,
    )
    assert ParseExit(None, None).timed_out is False
    full = ParseReport((DagSpec("d", "/dags/d.py"),), ImportProblem(2, "boom"), 0.5, True)
    assert ParseReport.from_json(full.to_json()) == full
    assert ParseRequest("/dags/d.py", "/l", 30.0).timeout == 30.0
    assert repr(ImportProblem(None, "m")) == "ImportProblem(line=None, message='m')"
    with pytest.raises(AttributeError):
        full.seconds = 1.0  # type: ignore[misc]


def test_upstream_counts_are_checked_immutable_and_hashable() -> None:
    counts = UpstreamCounts.from_states(["success", "failed", "running"])
    assert counts == UpstreamCounts(1, 0, 1, 0, 0, 2, 3)
    assert hash(counts) == hash(UpstreamCounts(1, 0, 1, 0, 0, 2, 3))
    assert repr(counts) == (
        "UpstreamCounts(success=1, skipped=0, failed=1, upstream_failed=0, removed=0, done=2, "
        "total=3)"
    )
    with pytest.raises(AttributeError):
        counts.done = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="negative"):
        UpstreamCounts(-1, 0, 0, 0, 0, -1, 0)
    with pytest.raises(ValueError, match="inconsistent"):
        UpstreamCounts(1, 0, 0, 0, 0, 1, 0)  # more done than there are


def test_the_store_rows_are_plain_values() -> None:
    row = VariableRow("api_token", "v", "", True, None)
    assert row.shown_value() == "***"
    assert row.shown_value(reveal=True) == "v"
    assert row == VariableRow("api_token", "v", "", True, None)
    update = {"uri": "s3://a", "dag_id": "p", "task_id": "t", "ts": "2024-01-01T00:00:00"}
    updates = triggering_updates(json.dumps({"updates": [update]}))
    assert updates == [DatasetUpdate("s3://a", "p", "t", "2024-01-01T00:00:00")]
    assert repr(updates[0]).startswith("DatasetUpdate(uri='s3://a', dag_id='p'")


def test_a_dag_run_in_the_context_reads_compares_and_stays_as_before() -> None:
    from datetime import UTC, datetime

    from flowtui.authoring.context import DagRun

    day = datetime(2024, 3, 5, tzinfo=UTC)
    run = DagRun("d", "r", "manual", day, day, day)
    assert (run.conf, run.execution_date, run.external_trigger) == ({}, day, True)
    assert run == DagRun("d", "r", "manual", day, day, day, {})
    assert repr(run).startswith("DagRun(dag_id='d', run_id='r', run_type='manual', ")
    with pytest.raises(AttributeError):
        run.run_id = "other"
