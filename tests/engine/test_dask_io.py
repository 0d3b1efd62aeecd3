"""What a remote attempt reads and writes travels through Dask, never through the home (issue 14,
points 3 and 6), on a real LocalCluster whose workers see no home: `FLOWTUI_HOME` points to a
missing folder for them, and a guard (an audit hook, in every worker process and in each
attempt's process) fails anything there that opens a file under the home. So the log reaches
the home's file from the scheduler's side only, and XComs, Variables, asset events, sensors,
TriggerDagRunOperator's commands and EmailOperator's mail are answered by the scheduler's
side."""

from __future__ import annotations

import json
import re
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtui.execution.base import AttemptExited, AttemptRequest
from flowtui.states import TaskState
from flowtui.store.access import LocalStore
from tests.alert_servers import Mail, smtp_home
from tests.conftest import Home, attempt_info, start_scheduler, stop_scheduler, wait_until
from tests.engine.conftest import Events

distributed = pytest.importorskip("distributed")

from flowtui.execution.dask import log_stream, store_proxy  # noqa: E402  # needs distributed
from flowtui.execution.dask.executor import DaskExecutor  # noqa: E402
from flowtui.execution.dask.log_stream import LogSink  # noqa: E402

# One xdist process runs the whole file: its cluster (module-wide) starts once.
pytestmark = [pytest.mark.dask, pytest.mark.xdist_group("test_dask_io")]

GUARD = """
import os, sys

def _guard(event, args, home={home!r}, report={report!r}):
    if event not in ("open", "sqlite3.connect") or not args:
        return
    if not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.path.abspath(os.fsdecode(args[0]))
    if path == home or path.startswith(home + os.sep):
        with open(report, "a") as file:
            file.write(f"{{os.getpid()}} {{event}} {{path}}\\n")
        raise RuntimeError(f"a remote attempt opened {{path}} in the home")

sys.addaudithook(_guard)
"""
"""Installed in a worker process (`Client.run`) and, through the DAG file, in the attempt's."""

DAG_HEADER = """
import sys
if getattr(sys.modules["__main__"].__spec__, "name", "") == "flowtui.execution.dask.attempt":
    exec({guard!r})  # only in a remote attempt's process, not where the DAG file is parsed
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A LocalCluster of two worker processes that see no home; its scheduler's address."""
    import dask

    missing = tmp_path_factory.mktemp("worker") / "no-home"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env={"FLOWTUI_HOME": str(missing)},
        )
    yield str(local.scheduler_address)
    local.close()


class Guarded:
    """A home whose DAG files guard it in remote attempts, and where violations are reported."""

    def __init__(self, home: Home, report: Path) -> None:
        self.home = home
        self.report = report
        self.guard = GUARD.format(home=str(home.path), report=str(report))

    def write_dag(self, name: str, source: str) -> None:
        header = DAG_HEADER.format(guard=self.guard)
        self.home.write_dag(name, header + textwrap.dedent(source))

    def violations(self) -> str:
        return self.report.read_text() if self.report.exists() else ""


@pytest.fixture
def guarded(home: Home, cluster: str, tmp_path: Path) -> Iterator[Guarded]:
    """The home, configured for the cluster, with the guard in every worker process."""
    home.path.mkdir(parents=True, exist_ok=True)
    (home.path / "flowtui.toml").write_text(f'executor = "dask"\n[dask]\naddress = "{cluster}"\n')
    home.settings.ensure_home()
    guarded = Guarded(home, tmp_path / "violations.txt")
    with distributed.Client(cluster, set_as_default=False) as client:
        client.run(exec, guarded.guard)
    yield guarded
    assert guarded.violations() == ""


@pytest.fixture
def executor(guarded: Guarded) -> Iterator[tuple[DaskExecutor, Events]]:
    events = Events()
    executor = DaskExecutor(guarded.home.settings)
    executor.listen(events.queue.put)
    executor.start()
    yield executor, events
    executor.stop()


LINES = 10_000

CHATTY = f"""
from datetime import datetime
from flowtui import DAG, BashOperator, PythonOperator

def chatty():
    for i in range({LINES}):
        print(f"line {{i:05d}} of the attempt's output")

with DAG("chatty", start_date=datetime(2024, 1, 1), schedule=None):
    PythonOperator(task_id="python", python_callable=chatty)
    BashOperator(task_id="bash", bash_command="seq -f 'bash %05g' 1 {LINES}; printf 'the end'")
"""


def _request(home: Home, dag_id: str, task_id: str, *, bash: bool = False) -> AttemptRequest:
    info = attempt_info(home.settings.db_path, dag_id, task_id)
    log = home.settings.attempt_log_path(dag_id, info.run_id, task_id, info.try_number)
    dag_file = str(home.dags / f"{dag_id}.py")
    return AttemptRequest(info, dag_file, str(log), runs_bash=bash, queued_at="q1")


def _exits(events: Events, count: int) -> list[AttemptExited]:
    """The next `count` exits, skipping the starts between them."""
    found: list[AttemptExited] = []
    while len(found) < count:
        event = events.queue.get(timeout=30)
        if isinstance(event, AttemptExited):
            found.append(event)
    return found


def test_ten_thousand_lines_reach_the_homes_log_in_order_before_the_exit_is_reported(
    guarded: Guarded, executor: tuple[DaskExecutor, Events]
) -> None:
    """The worker writes nothing under the home (the guard would fail it): every line comes
    home through Dask, in order, the last one (without its newline) before the exit."""
    dask_executor, events = executor
    guarded.write_dag("chatty.py", CHATTY)
    python = _request(guarded.home, "chatty", "python")
    bash = _request(guarded.home, "chatty", "bash", bash=True)
    dask_executor.submit(python)
    dask_executor.submit(bash)
    exited = _exits(events, 2)
    assert {e.key for e in exited} == {python.key, bash.key}
    assert all(e.outcome is not None and e.outcome.state is TaskState.SUCCESS for e in exited)

    lines = Path(python.log_path).read_text().split("\n")
    assert lines[0].startswith("[flowtui] ")
    assert "chatty.python run" in lines[0]
    assert lines[1 : LINES + 1] == [f"line {i:05d} of the attempt's output" for i in range(LINES)]
    assert lines[LINES + 1 :] == ["Returned value was: None", ""]
    bash_lines = Path(bash.log_path).read_text().split("\n")
    assert bash_lines[1:] == [*(f"bash {i:05d}" for i in range(1, LINES + 1)), "the end"]
    bash_exit = next(e for e in exited if e.key == bash.key)
    assert bash_exit.outcome is not None
    assert bash_exit.outcome.xcom["return_value"] == "the end"  # its last line, read there


FROM_THE_HOME = """
from datetime import datetime
from flowtui import DAG, EmailOperator, TriggerDagRunOperator

with DAG("from_home", start_date=datetime(2024, 1, 1), schedule=None):
    TriggerDagRunOperator(task_id="trigger", trigger_dag_id="other")
    EmailOperator(task_id="mail", to="a@example.com", subject="s", html_content="c")
"""


def test_what_the_home_refuses_fails_a_remote_attempt_as_a_local_one(
    guarded: Guarded, executor: tuple[DaskExecutor, Events]
) -> None:
    """The scheduler's side answers the attempt's command and mail with the errors a local
    attempt gets: no scheduler answers this home's socket (the executor runs in the test),
    and its flowtui.toml has no [smtp] host."""
    dask_executor, events = executor
    guarded.write_dag("from_home.py", FROM_THE_HOME)
    for task_id in ("trigger", "mail"):
        dask_executor.submit(_request(guarded.home, "from_home", task_id))
    causes = {}
    for exited in _exits(events, 2):
        assert exited.outcome is not None
        assert exited.outcome.state is TaskState.FAILED
        causes[exited.key.task_id] = str(exited.outcome.cause)
    home = guarded.home.path
    assert causes["trigger"].startswith(f"the scheduler on {home} holds its lock but does not")
    assert causes["mail"] == (
        "MailNotSent: mail to a@example.com not sent: flowtui.toml has no [smtp] host"
    )


def test_the_sink_writes_pieces_in_order_and_reports_the_exit_after_the_last(
    tmp_path: Path,
) -> None:
    """Pieces may come after the attempt's end, and out of order: the exit waits for them."""
    log = tmp_path / "logs" / "attempt=1.log"
    ended = threading.Event()
    sink = LogSink()
    try:
        sink.open("a", str(log))
        sink.received((0.0, {"name": "a", "seq": 1, "data": b"two\n"}))
        sink.received((0.0, {"name": "other flowtui's", "seq": 0, "data": b"not ours\n"}))
        sink.close("a", 3, ended.set)
        assert not ended.wait(0.2)
        assert not log.exists()  # piece 1 waits for piece 0
        sink.received((0.0, {"name": "a", "seq": 0, "data": b"one\n"}))
        wait_until(lambda: log.exists() and log.read_text() == "one\ntwo\n", what="0 and 1")
        assert not ended.is_set()
        sink.received((0.0, {"name": "a", "seq": 2, "data": b"three"}))
        assert ended.wait(5)
        assert log.read_text() == "one\ntwo\nthree"
    finally:
        sink.stop()


def test_the_sink_gives_up_on_missing_pieces_after_its_grace_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_stream, "LOG_GRACE", 0.3)
    log = tmp_path / "attempt=1.log"
    ended = threading.Event()
    sink = LogSink()
    try:
        sink.open("a", str(log))
        sink.received((0.0, {"name": "a", "seq": 0, "data": b"one\n"}))
        sink.close("a", 2, ended.set)
        assert ended.wait(5)
    finally:
        sink.stop()
    assert log.read_text().endswith("1 piece(s) of this log did not arrive from the worker\n")


def test_a_late_answer_is_not_taken_for_the_next_requests(
    cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's relay: a request the scheduler's side answers too late gets a timeout, and
    that late answer, when it comes, is dropped instead of answering the attempt's next one."""
    monkeypatch.setattr(store_proxy, "ANSWER_TIMEOUT", 0.5)
    attempt, worker = socket.socketpair()
    with distributed.Client(cluster) as client:
        relaying = threading.Thread(target=store_proxy.relay, args=(worker, "a", "req-a", client))
        relaying.start()
        with attempt, attempt.makefile("rwb") as file:
            requests = distributed.Queue("req-a", client=client)
            replies = distributed.Queue(store_proxy.reply_queue("a"), client=client)
            file.write(b"first\n")
            file.flush()
            assert json.loads(file.readline())["error"] == "Timeout"
            assert requests.get(timeout=5)["seq"] == 0
            replies.put({"seq": 0, "answer": "late"})
            file.write(b"second\n")
            file.flush()
            assert requests.get(timeout=5)["seq"] == 1
            replies.put({"seq": 1, "answer": "in time"})
            assert file.readline() == b"in time\n"
        relaying.join(timeout=10)


def piece(seq: int, data: bytes, name: str = "a") -> tuple[float, dict[str, Any]]:
    return (0.0, {"name": name, "seq": seq, "data": data})


@pytest.mark.parametrize(
    ("held", "kept", "whole"),
    [
        # the last scheduler wrote pieces 0 and 1, then a line of its own, then half of 2
        (b"one\n[stop]\ntwo\nthr", range(4), "one\n[stop]\ntwo\nthree\nfour\n"),
        # the Dask scheduler kept pieces from 2 on only: the gap is said, not guessed at
        (b"one\n", range(2, 4), "one\n\n{note}\nthree\nfour\n"),
    ],
)
def test_a_resumed_log_gets_the_pieces_its_file_lacks_once_each(
    tmp_path: Path, held: bytes, kept: range, whole: str
) -> None:
    """An adopted attempt's log, partly written by the scheduler before this one: the pieces
    the Dask scheduler kept are matched against the file, a piece cut short by the crash is
    written again whole, and a piece sent again live is not written twice."""
    data = [b"one\n", b"two\n", b"three\n", b"four\n"]
    log = tmp_path / "attempt=1.log"
    log.write_bytes(held)
    ended = threading.Event()
    sink = LogSink()
    try:
        sink.open("a", str(log))
        sink.resume("a", [piece(seq, data[seq]) for seq in kept] + [piece(0, b"x\n", "b")])
        sink.received(piece(3, data[3]))  # also live, after its subscription
        sink.close("a", 4, ended.set)
        assert ended.wait(5)
    finally:
        sink.stop()
    note = "[flowtui] 2 piece(s) of this log did not arrive from the worker"
    undated = re.sub(r"^\[flowtui\] \S+ \S+ ", "[flowtui] ", log.read_text(), flags=re.M)
    assert undated == whole.format(note=note)


SECRET = "s3cr3t-value-123"

REMOTE_IO = """
import json
from datetime import datetime
from flowtui import (
    DAG, Asset, BashOperator, EmailOperator, ExternalTaskSensor, TriggerDagRunOperator, Variable,
    task,
)

orders = Asset("s3://shop/orders.csv")

with DAG("other", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="done", bash_command="echo other is done")

with DAG("io", start_date=datetime(2024, 1, 1), schedule=None):
    trigger = TriggerDagRunOperator(
        task_id="trigger", trigger_dag_id="other", logical_date="{{ ds }}",
        wait_for_completion=True, poke_interval=0.2,
    )
    EmailOperator(
        task_id="mail", to="data@example.com", subject="Rows of {{ ds }}",
        html_content="<p>attached</p>", files=["{{ var.value.rows_file }}"],
    )
    sense = ExternalTaskSensor(
        task_id="sense", external_dag_id="other", external_task_id="done", poke_interval=0.2,
        timeout=30,
    )

    @task(outlets=[orders])
    def push(*, ti, outlet_events):
        ti.xcom_push(key="numbers", value=[1, 2, 3])
        outlet_events[orders].extra = {"rows": 42}
        Variable.set("counter", str(int(Variable.get("counter")) + 1))
        print("the password is", Variable.get("api_password"))
        return {"greeting": "hi"}

    @task(inlets=[orders])
    def pull(*, ti, inlet_events):
        event = inlet_events[orders][-1]
        return [
            ti.xcom_pull(task_ids="push", key="numbers"),
            ti.xcom_pull(task_ids="push"),
            Variable.get("counter"),
            Variable.get("missing", default_var="default"),
            [event.extra, event.source_dag_id, event.source_task_id],
        ]

    echo = BashOperator(
        task_id="echo",
        bash_command="echo counter={{ var.value.counter }} password=$PW",
        env={"PW": "{{ var.value.api_password }}"},
    )
    trigger >> sense >> push() >> pull() >> echo
"""
ROWS = b"id,name\n1,\xc3\xa9\n\x00\xff"
"""An attachment's bytes, not all of them text."""


@pytest.fixture
def mails(
    guarded: Guarded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Mail]]:
    """A scheduler on the home, started with an SMTP server in its [smtp] and the server's CA
    and password in its environment, which the workers lack; the mails the server took."""
    config = (guarded.home.path / "flowtui.toml").read_text()
    with smtp_home(guarded.home, tmp_path, monkeypatch, config) as taken:
        process = start_scheduler(guarded.home)
        yield taken
        stop_scheduler(process)


def test_remote_attempts_reach_the_store_the_scheduler_and_the_mail_server_through_dask(
    guarded: Guarded, mails: list[Mail], tmp_path: Path
) -> None:
    """The whole DAG runs on workers that never open the store (nor anything in the home):
    a trigger of another DAG that waits for its run, a sensor that reads that run, XCom
    pulls, a Variable read and changed, an asset event and its inlet, a secret masked in the
    logs of a Python and a bash task, a mail with an attachment read on the worker."""
    home = guarded.home
    guarded.write_dag("io.py", REMOTE_IO)
    (tmp_path / "rows.csv").write_bytes(ROWS)
    variables = LocalStore(home.settings.db_path)
    variables.set_variable("counter", "41", None)
    variables.set_variable("api_password", SECRET, None)
    variables.set_variable("rows_file", str(tmp_path / "rows.csv"), None)
    home.run("dags", "trigger", "io", "--logical-date", "2024-03-05", check=True)
    wait_until(
        lambda: _run_state(home, "io") in {"success", "failed"},
        timeout=60,
        what="the io run to end",
        seen=guarded.violations,
    )
    run_id = home.latest_run_id("io")
    assert _run_state(home, "io") == "success", guarded.violations()
    store = home.store()
    try:
        [(pulled,)] = store.conn.execute(
            "SELECT value FROM xcom WHERE dag_id = 'io' AND task_id = 'pull'"
        ).fetchall()
        [(counter,)] = store.conn.execute("SELECT val FROM variables WHERE key = 'counter'")
        events = store.conn.execute("SELECT dag_id, task_id FROM dataset_events").fetchall()
    finally:
        store.close()
    assert json.loads(pulled) == [
        [1, 2, 3],
        {"greeting": "hi"},
        "42",
        "default",
        [{"rows": 42}, "io", "push"],
    ]
    assert counter == "42"
    assert events == [("io", "push")]
    push_log, echo_log, sense_log = (
        home.settings.attempt_log_path("io", run_id, task, 1).read_text()
        for task in ("push", "echo", "sense")
    )
    assert "the password is ***" in push_log
    assert "counter=42 password=***" in echo_log
    assert SECRET not in push_log + echo_log
    assert "the condition holds" in sense_log
    other = "manual__2024-03-05T00:00:00+00:00"
    assert home.task_state("other", other, "done") == "success"
    assert _run_state(home, "other") == "success"
    trigger_log = home.settings.attempt_log_path("io", run_id, "trigger", 1).read_text()
    assert f"Triggered DAG 'other': run {other}" in trigger_log  # the scheduler's answer
    commands = [e for e in home.events(dag_id="other") if e["kind"] == "command"]
    assert [e["actor"] for e in commands] == ["task:io.trigger"]
    (mail,) = mails
    assert (mail.subject, mail.rcpt_tos, mail.tls) == (
        "Rows of 2024-03-05",
        ["data@example.com"],
        True,
    )
    (attachment,) = mail.message.iter_attachments()
    assert (attachment.get_filename(), attachment.get_content()) == ("rows.csv", ROWS)


def _run_state(home: Home, dag_id: str) -> str | None:
    store = home.store()
    try:
        row = store.conn.execute("SELECT state FROM dag_runs WHERE dag_id = ?", (dag_id,))
        found = row.fetchone()
    finally:
        store.close()
    return None if found is None else str(found[0])
