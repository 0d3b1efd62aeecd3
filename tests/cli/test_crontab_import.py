"""`flowtui crontab import`: a realistic crontab becomes DAG files that load, fire when cron
would have fired, and keep cron's `%`, environment and MAILTO rules; a crontab with a line
it cannot translate is refused as a whole."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from flowtui.crontab.reader import split_percent, system_zone
from flowtui.loading.serialization import dag_spec
from flowtui.scheduling.timetables.factory import timetable
from tests.alert_servers import smtp_home
from tests.conftest import FLOWTUI, Home

CRONTAB = textwrap.dedent(
    r"""
    # m h  dom mon dow   command
    SHELL=/bin/bash
    PATH=/usr/local/bin:/usr/bin:/bin
    MAILTO="ops@example.com,dba@example.com"

    */15 * * * * echo disk ok > /dev/null 2>&1
    0 2 * * 1-5 /usr/local/bin/backup_db.sh --full
    30 4 1,15 * * cd /srv/app && python3 manage.py clearsessions
    MAILTO=""
    @daily echo "rotated" $GREETING
    CRON_TZ=America/New_York
    GREETING = 'hello there'
    0 0 * * 7 cat -n%first line%second \% line
    5 3 * * * echo "$(date +\%F) $GREETING"
    @reboot /usr/local/bin/start_agent
    """
).lstrip("\n")
"""Line numbers: */15 is line 6, 0 2 line 7, 30 4 line 8, @daily 10, 0 0 13, 5 3 14, @reboot 15."""

UTC_ZONE = system_zone()
EXPECTED = {  # dag_id: (the schedule as written in the crontab, the time zone)
    "cron_06_echo_disk": ("*/15 * * * *", UTC_ZONE),
    "cron_07_backup_db": ("0 2 * * 1-5", UTC_ZONE),
    "cron_08_manage_clearsessions": ("30 4 1,15 * *", UTC_ZONE),
    "cron_10_echo": ("@daily", UTC_ZONE),
    "cron_13_cat": ("0 0 * * 7", "America/New_York"),
    "cron_14_echo": ("5 3 * * *", "America/New_York"),
}


def _import(home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    return home.run("crontab", "import", *args)


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"crontab_import_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def imported(home: Home, tmp_path: Path) -> Path:
    """The realistic crontab, imported with --skip-invalid (for its @reboot line)."""
    (tmp_path / "crontab").write_text(CRONTAB)
    done = _import(
        home, str(tmp_path / "crontab"), "--into", str(tmp_path / "out"), "--skip-invalid"
    )
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stderr
    assert ":15: @reboot is not supported" in done.stderr
    assert len(done.stdout.splitlines()) == len(EXPECTED)
    return tmp_path / "out"


def test_each_entry_becomes_a_dag_that_loads(home: Home, imported: Path) -> None:
    assert sorted(p.stem for p in imported.glob("*.py")) == sorted(EXPECTED)
    listed = home.run("dags", "list", "--output", "json", "--dags-folder", str(imported))
    dags = {d["dag_id"]: d for d in json.loads(listed.stdout)}
    assert sorted(dags) == sorted(EXPECTED)
    assert {d["dag_id"]: d["schedule"] for d in dags.values()} == {
        dag_id: schedule for dag_id, (schedule, _) in EXPECTED.items()
    }
    errors = home.run("dags", "errors", "--output", "json", "--dags-folder", str(imported))
    found = json.loads(errors.stdout)
    assert [e for e in found if e["kind"] == "error"] == []
    # MAILTO asks for mail, which this home (no [smtp] host) cannot send: said, not silent.
    assert sorted(e["message"].split("'")[1] for e in found) == [
        "cron_06_echo_disk",
        "cron_07_backup_db",
        "cron_08_manage_clearsessions",
    ]


def test_written_dag_files_get_the_users_umask(imported: Path) -> None:
    """flowtui keeps its own files private; the DAG files it writes are the user's."""
    umask = os.umask(0)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in imported.glob("*.py")} == {0o666 & ~umask}


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_written_dags_fire_when_cron_would(imported: Path, dag_id: str) -> None:
    dag = _module(imported / f"{dag_id}.py").dag
    original, zone_name = EXPECTED[dag_id]
    assert dag.start_date.tzinfo.key == zone_name
    assert dag.catchup is False
    base = datetime(2024, 3, 1, 0, 0, 30, tzinfo=ZoneInfo(zone_name))
    cron, written = croniter(original, base), croniter(dag.schedule, base)
    expected = [cron.get_next(datetime) for _ in range(5)]
    assert [written.get_next(datetime) for _ in range(5)] == expected
    _check_timetable(dag, expected)


def _check_timetable(dag: Any, expected: list[datetime]) -> None:
    """The same times through flowtui's own timetables."""
    table = timetable(dag_spec(dag, "dag.py"))
    runs = table.runs_between(expected[0] - timedelta(seconds=1), expected[-1])
    assert [run.logical_date for run in runs] == expected
    assert [run.run_after for run in runs[:-1]] == expected[1:]


def test_commands_keep_crons_percent_env_and_mailto(imported: Path) -> None:
    weekly = _module(imported / "cron_13_cat.py").dag.task_dict["cat"]
    run = subprocess.run(
        ["bash", "-c", weekly.bash_command], capture_output=True, text=True, check=True
    )
    assert run.stdout.split("\n") == ["     1\tfirst line", "     2\tsecond % line", ""]
    assert weekly.env == {
        "SHELL": "/bin/bash",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "GREETING": "hello there",
    }
    assert weekly.append_env is True
    assert weekly.email is None  # MAILTO="" above it
    daily = _module(imported / "cron_14_echo.py").dag.task_dict["echo"]
    assert daily.bash_command == 'echo "$(date +%F) $GREETING"'
    disk = _module(imported / "cron_06_echo_disk.py").dag.task_dict["echo_disk"]
    assert disk.email == ["ops@example.com", "dba@example.com"]
    assert disk.email_on_failure is True
    text = (imported / "cron_14_echo.py").read_text()
    assert 'line 14:\n\n    5 3 * * * echo "$(date +\\%F) $GREETING"' in text
    assert ">> second" in text


BAD = textwrap.dedent(
    """\
    MAILTO=me@example.com
    0 3 * * * /usr/bin/good_job
    61 * * * * /usr/bin/bad_minute
    0 0 * * * * /usr/bin/six_fields
    @fortnightly /usr/bin/unknown_nickname
    15 1 * * mon-fri /usr/bin/weekday_job
    """
)


def test_a_crontab_with_bad_lines_is_refused_whole(home: Home, tmp_path: Path) -> None:
    (tmp_path / "crontab").write_text(BAD)
    done = _import(home, str(tmp_path / "crontab"), "--into", str(tmp_path / "out"))
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert [line.split(": ")[0] for line in lines[:3]] == [
        f"{tmp_path / 'crontab'}:{n}" for n in (3, 4, 5)
    ]
    assert "minute field '61' out of range 0-59" in lines[0]
    assert "six or more time fields" in lines[1]
    assert "unknown nickname '@fortnightly'" in lines[2]
    assert lines[3].startswith("flowtui: error: ")
    assert "--skip-invalid" in lines[3]
    assert len(lines) == 4
    assert not (tmp_path / "out").exists()


def test_skip_invalid_writes_the_good_lines(home: Home, tmp_path: Path) -> None:
    (tmp_path / "crontab").write_text(BAD)
    out = tmp_path / "out"
    done = _import(home, str(tmp_path / "crontab"), "--into", str(out), "--skip-invalid")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "cron_02_good_job.py",
        "cron_06_weekday_job.py",
    ]
    assert [line.split(": ")[0] for line in done.stderr.splitlines()] == [
        f"skipped {tmp_path / 'crontab'}:{n}" for n in (3, 4, 5)
    ]
    assert done.stdout.splitlines()[0].startswith(f"wrote {out / 'cron_02_good_job.py'}")


def test_dash_reads_stdin_into_the_dag_folder(home: Home) -> None:
    done = subprocess.run(
        [FLOWTUI, "crontab", "import", "-"],
        input="@hourly /usr/bin/true\n",
        env=home.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = home.dags / "cron_01_true.py"
    assert done.stdout.startswith(f"wrote {written}")
    assert "from <stdin>, line 1:" in written.read_text()


def test_an_existing_file_is_refused_without_force(home: Home, tmp_path: Path) -> None:
    (tmp_path / "crontab").write_text("0 1 * * * /usr/bin/nightly\n*/5 * * * * /usr/bin/often\n")
    existing = home.dags / "cron_01_nightly.py"
    existing.write_text("# mine\n")
    done = _import(home, str(tmp_path / "crontab"))
    assert done.returncode == 1
    assert done.stderr == (
        f"flowtui: error: {existing}: already exists, so nothing was written; "
        f"pass --force to overwrite, or --into another folder\n"
    )
    assert existing.read_text() == "# mine\n"
    assert not (home.dags / "cron_02_often.py").exists()
    forced = _import(home, str(tmp_path / "crontab"), "--force")
    assert forced.returncode == 0, forced.stderr
    assert 'schedule="0 1 * * *"' in existing.read_text()
    assert (home.dags / "cron_02_often.py").exists()


def test_without_a_dag_folder_nothing_is_written_into_the_samples(
    home: Home, tmp_path: Path
) -> None:
    (tmp_path / "crontab").write_text("0 1 * * * echo hi\n")
    elsewhere = tmp_path / "elsewhere"  # no dags/ in it: the bundled samples are the folder
    elsewhere.mkdir()
    env = {k: v for k, v in home.env.items() if k != "FLOWTUI_DAGS_FOLDER"}
    done = subprocess.run(
        [FLOWTUI, "crontab", "import", str(tmp_path / "crontab")],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("flowtui: error: no DAG folder is configured")
    assert done.stderr.count("\n") == 1


def test_an_unreadable_crontab_is_one_line(home: Home, tmp_path: Path) -> None:
    done = _import(home, str(tmp_path / "missing"))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"flowtui: error: cannot read crontab {tmp_path / 'missing'}")


@pytest.mark.parametrize(
    ("text", "command", "stdin"),
    [
        ("date +%F", "date +", "F"),
        (r"date +\%F", "date +%F", None),
        ("mail me%line one%line two%", "mail me", "line one\nline two\n"),
        (r"cat%100\% sure%", "cat", "100% sure\n"),
        (r"printf 'a\tb\\'", r"printf 'a\tb\\'", None),
        ("cat %", "cat", ""),
    ],
)
def test_split_percent_follows_cron(text: str, command: str, stdin: str | None) -> None:
    assert split_percent(text) == (command, stdin)


def test_a_failing_imported_command_mails_its_mailto(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cron mailed a failing job's output to MAILTO; the imported DAG mails its failure."""
    (tmp_path / "crontab").write_text("MAILTO=oncall@example.com\n0 3 * * * ls /no/such/folder\n")
    with smtp_home(home, tmp_path, monkeypatch) as mails:
        assert _import(home, str(tmp_path / "crontab")).returncode == 0
        (dag_file,) = home.dags.glob("*.py")
        assert "Mail: to oncall@example.com when the task fails" in dag_file.read_text()
        done = home.run("dags", "test", dag_file.stem)
        assert done.returncode == 1, done.stdout + done.stderr
    (mail,) = mails
    assert mail.rcpt_tos == ["oncall@example.com"]
    assert mail.subject.startswith(f"[flowtui] failed: DAG {dag_file.stem}, task ")
    assert "No such file or directory" in mail.text  # ls's complaint, from the log's tail
