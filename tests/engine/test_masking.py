"""Masking of secret variables: which keys are secret, the forms of a value that are hidden,
output split across writes, the marker that spares the store a query, the bash filter (exit
codes, signals) and masking inside `run_task` / `bash_invocation`."""

from __future__ import annotations

import io
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowtui import DAG, BashOperator, PythonOperator, Variable
from flowtui.execution import masking
from flowtui.execution.base import AttemptExited, AttemptInfo, AttemptRequest, AttemptStarted
from flowtui.execution.local.executor import LocalExecutor
from flowtui.execution.mask_filter import LineMasker, Masker
from flowtui.execution.masking import MaskingStream, filtered, masked_output, secret_values
from flowtui.execution.task_runner import bash_invocation, run_task
from flowtui.loading.parse import Preload
from flowtui.store.variables import is_secret_key, marker_path
from tests.conftest import Home, attempt_info
from tests.engine.conftest import Events

SECRET = "hunter22"


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("db_password", True),
        ("DB_PASSWORD", True),
        ("client_secret", True),
        ("github_token", True),
        ("OPENAI_API_KEY", True),
        ("aws_credentials", True),
        ("region", False),
        ("api", False),
        ("apikey", False),  # only the five names count, as documented
    ],
)
def test_secret_keys_are_recognised_by_substring_in_any_case(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_masker_hides_the_value_and_its_json_forms() -> None:
    masker = Masker(['pa"ss\\wörd', "abc"])
    assert masker.mask('raw pa"ss\\wörd') == "raw ***"
    assert masker.mask(json.dumps({"p": 'pa"ss\\wörd'})) == '{"p": "***"}'
    assert masker.mask(json.dumps('pa"ss\\wörd', ensure_ascii=False)) == '"***"'
    assert masker.mask("abc is too short to hide") == "abc is too short to hide"


def test_masker_hides_the_strings_inside_a_json_value() -> None:
    masker = Masker(['{"user": "etl_user", "pass": "s3cr3t!", "port": 5432, "n": ["tok-999"]}'])
    assert masker.mask("login etl_user / s3cr3t! via tok-999 on 5432") == (
        "login *** / *** via *** on 5432"
    )


def test_a_value_containing_another_is_hidden_whole() -> None:
    assert Masker(["abcd", "abcdefgh"]).mask("xabcdefghx abcd") == "x***x ***"


def test_no_values_means_no_masker() -> None:
    assert not Masker([])
    assert not Masker(["abc"])
    assert Masker([SECRET])


def _stream(values: list[str]) -> tuple[MaskingStream, io.StringIO]:
    target = io.StringIO()
    return MaskingStream(target, Masker(values)), target


def test_a_value_split_across_writes_is_still_masked() -> None:
    stream, target = _stream([SECRET])
    stream.write("password is hun")
    assert target.getvalue() == ""  # an unfinished line is held back
    stream.write("ter22, ok\nnext ")
    assert target.getvalue() == "password is ***, ok\n"
    stream.write("hunt")
    stream.flush()
    assert target.getvalue() == "password is ***, ok\nnext hunt"


def test_whole_lines_and_print_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    with masked_output(Masker([SECRET])):
        print("the secret is", SECRET)
        print(f"json: {json.dumps({'password': SECRET})}", file=sys.stderr)
    captured = capsys.readouterr()
    assert captured.out == "the secret is ***\n"
    assert captured.err == 'json: {"password": "***"}\n'


@pytest.mark.parametrize("split", [20, 25])  # just after the value's first newline; after it
def test_a_multi_line_value_is_masked_when_written_in_pieces(split: int) -> None:
    key = "-----BEGIN KEY-----\nMIIEabcdef\n-----END KEY-----"
    stream, target = _stream([key])
    stream.write("key:\n")
    stream.write(key[:split])
    stream.write(key[split:] + "\n")
    stream.flush()
    assert target.getvalue() == "key:\n***\n"


def test_a_very_long_line_is_written_before_its_newline_without_splitting_a_value() -> None:
    lines = LineMasker(Masker([SECRET]))
    head = lines.feed("x" * 70_000 + SECRET[:5])
    assert head
    assert "hunte" not in head
    assert lines.feed(SECRET[5:] + "\n").endswith("***\n")


def test_masked_output_changes_nothing_without_secrets() -> None:
    before = sys.stdout
    with masked_output(Masker([])):
        assert sys.stdout is before
    with masked_output(Masker([SECRET])):
        assert isinstance(sys.stdout, MaskingStream)
    assert sys.stdout is before


def test_the_marker_follows_the_secret_keys_of_the_store(db: Path) -> None:
    Variable.set("region", "eu-west-1")
    assert not marker_path(db).exists()
    assert secret_values(db) == []
    Variable.set("db_password", SECRET)
    Variable.set("api_token", "tok-123456")
    assert marker_path(db).exists()
    assert sorted(secret_values(db)) == [SECRET, "tok-123456"]
    Variable.delete("db_password")
    assert marker_path(db).exists()
    Variable.delete("api_token")
    assert not marker_path(db).exists()


def test_without_the_marker_the_store_is_not_read(db: Path) -> None:
    """Secrets written behind flowtui's back (raw SQL) are not seen: the documented limit."""
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO variables (key, val) VALUES ('db_password', ?)", (SECRET,))
    conn.commit()
    conn.close()
    assert secret_values(db) == []


def test_environment_secrets_count_without_a_store(tmp_path: Path) -> None:
    environ = {"FLOWTUI_VAR_API_TOKEN": "tok-abcdef", "FLOWTUI_VAR_REGION": "eu", "HOME": "/x"}
    assert secret_values(tmp_path / "absent.db", environ) == ["tok-abcdef"]


def test_the_environment_s_secrets_are_read_once_when_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(masking, "_remembered", None)  # restored after the test
    monkeypatch.setenv("FLOWTUI_VAR_API_TOKEN", "tok-abcdef")
    absent = tmp_path / "absent.db"
    masking.remember_environment()
    monkeypatch.setenv("FLOWTUI_VAR_API_TOKEN", "tok-changed")
    bash_env = {"FLOWTUI_VAR_DB_PASSWORD": "pw-123456"}
    assert masking.attempt_secret_values(absent, bash_env) == ["tok-abcdef", "pw-123456"]
    masking.forget_environment()
    assert masking.attempt_secret_values(absent) == ["tok-changed"]


# --- the bash filter ---


def _run_filtered(command: str, values: list[str]) -> subprocess.CompletedProcess[str]:
    argv, env = filtered(["bash", "-c", command], {"PATH": "/usr/bin:/bin"}, values)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)


def test_without_secrets_bash_is_run_directly() -> None:
    argv, env = filtered(["bash", "-c", "true"], {"A": "1"}, ["abc"])
    assert (argv, env) == (["bash", "-c", "true"], {"A": "1"})


def test_the_filter_masks_both_streams_and_passes_the_exit_code() -> None:
    done = _run_filtered(
        f"echo pw={SECRET}; echo err {SECRET} >&2; printf 'hun'; printf 'ter22 end'; exit 3",
        [SECRET],
    )
    assert done.returncode == 3
    assert done.stdout == "pw=***\n*** end"
    assert done.stderr == "err ***\n"
    assert SECRET not in done.stdout + done.stderr


def test_the_filter_keeps_the_secrets_out_of_bash_s_environment() -> None:
    done = _run_filtered("env | grep -c FLOWTUI_MASK || true", [SECRET])
    assert done.stdout.strip() == "0"


def test_a_signal_to_the_filter_reaches_bash_and_is_its_exit_status() -> None:
    argv, env = filtered(
        ["bash", "-c", "echo started; sleep 30"], {"PATH": "/usr/bin:/bin"}, [SECRET]
    )
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == -signal.SIGTERM
    assert time.monotonic() - started < 5


def test_a_background_child_does_not_keep_the_filter_alive() -> None:
    started = time.monotonic()
    done = _run_filtered(f"(sleep 20 &); echo {SECRET}", [SECRET])
    assert done.stdout == "***\n"
    assert time.monotonic() - started < 10


# --- inside an attempt ---


def _attempt(db: Path, task_id: str) -> AttemptInfo:
    return attempt_info(db, "d", task_id)


def test_run_task_masks_output_and_the_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Variable.set("db_password", SECRET)
    Variable.set("region", "eu-west-1")

    def leak() -> None:
        from flowtui import Variable

        print("password:", Variable.get("db_password"), "region:", Variable.get("region"))
        raise ValueError(f"cannot log in with {SECRET}")

    with DAG("d") as dag:
        PythonOperator(task_id="t", python_callable=leak)
    outcome = run_task(dag, _attempt(db, "t"))
    captured = capsys.readouterr()
    assert "password: *** region: eu-west-1" in captured.out
    assert "ValueError: cannot log in with ***" in captured.err
    assert outcome.cause == "ValueError: cannot log in with ***"
    assert SECRET not in captured.out + captured.err
    assert not isinstance(sys.stdout, MaskingStream)


def test_bash_invocation_uses_the_filter_only_when_secrets_exist(db: Path) -> None:
    with DAG("d") as dag:
        BashOperator(task_id="b", bash_command="echo {{ var.value.get('db_password', 'none') }}")
    argv, _env, _cwd, _xcom, _rendered = bash_invocation(dag, _attempt(db, "b"))
    assert argv == ["bash", "-c", "echo none"]
    Variable.set("db_password", SECRET)
    argv, env, _cwd, _xcom, _rendered = bash_invocation(dag, _attempt(db, "b"))
    assert argv[0] == sys.executable
    assert argv[-3:] == ["bash", "-c", f"echo {SECRET}"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout == "***\n"


def test_an_environment_secret_given_to_bash_only_is_masked(db: Path) -> None:
    with DAG("d") as dag:
        BashOperator(
            task_id="b",
            bash_command="echo $FLOWTUI_VAR_API_TOKEN",
            env={"FLOWTUI_VAR_API_TOKEN": "tok-abcdef"},
        )
    argv, env, _cwd, _xcom, _rendered = bash_invocation(dag, _attempt(db, "b"))
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout == "***\n"


def test_bash_is_given_each_secret_once_and_none_too_short_to_mask(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWTUI_VAR_API_TOKEN", "tok-abcdef")  # bash's env holds it too
    monkeypatch.setenv("FLOWTUI_VAR_PIN_PASSWORD", "123")
    Variable.set("db_password", "tok-abcdef")
    with DAG("d") as dag:
        BashOperator(task_id="b", bash_command="true", env={"A": "1"}, append_env=True)
    _argv, env, _cwd, _xcom, _rendered = bash_invocation(dag, _attempt(db, "b"))
    assert json.loads(env["FLOWTUI_MASK_SECRETS"]) == ["tok-abcdef"]


# --- secrets a DAG file's import sets, on a real fork server ---

SETS_A_SECRET = """
    import os
    from flowtui import DAG, BashOperator, PythonOperator

    # A value of the importing process's own: the fork server's, or the attempt's.
    os.environ["FLOWTUI_VAR_API_TOKEN"] = f"tok-of-{os.getpid()}"

    def show():
        print("python token:", os.environ["FLOWTUI_VAR_API_TOKEN"])

    with DAG("{dag_id}", schedule=None):
        PythonOperator(task_id="py", python_callable=show)
        BashOperator(task_id="sh", bash_command="echo bash token: $FLOWTUI_VAR_API_TOKEN")
"""


def test_a_secret_a_dag_file_s_import_sets_is_masked_wherever_it_was_imported(
    home: Home,
) -> None:
    """The fork server imports `d.py` (its children take os.environ's secrets from it); the
    attempts of `e.py` import it themselves, each setting a token the server never saw."""
    events = Events()
    executor = LocalExecutor(home.settings)
    executor.listen(events.queue.put)
    executor.start()
    try:
        kinds: tuple[tuple[str, Preload], ...] = (("d", "server"), ("e", ""))
        for dag_id, preload in kinds:
            file = home.write_dag(f"{dag_id}.py", SETS_A_SECRET.replace("{dag_id}", dag_id))
            for task_id, masked in (("py", "python token: ***"), ("sh", "bash token: ***")):
                info = attempt_info(home.settings.db_path, dag_id, task_id)
                log = home.settings.attempt_log_path(dag_id, info.run_id, task_id, 1)
                request = AttemptRequest(info, str(file), str(log), task_id == "sh", preload)
                executor.submit(request._replace(queued_at="q1"))
                events.next(AttemptStarted)
                assert events.next(AttemptExited).outcome.state == "success"
                text = log.read_text()
                assert masked in text, text
                assert "tok-of-" not in text, text
    finally:
        executor.stop()
