"""Task ids from task groups (`group.task`) through the command line: `dags test` runs them,
`logs` reads their attempt's log, `tasks clear --task` selects them by regular expression
(with `--downstream` following the group's edges) and `tasks test` runs one."""

from __future__ import annotations

from tests.conftest import Home

RUN_ID = "test__2024-01-15T00:00:00+00:00"


def test_dotted_task_ids_work_with_logs_clear_and_tasks_test(home: Home) -> None:
    home.write_dag(
        "grouped.py",
        """
        from flowtui import DAG, EmptyOperator, PythonOperator, TaskGroup

        with DAG("grouped", schedule=None):
            with TaskGroup("g"):
                t = PythonOperator(task_id="t", python_callable=lambda: print("hello from g.t"))
                t >> EmptyOperator(task_id="u")
            EmptyOperator(task_id="gxt")
        """,
    )
    home.run("dags", "test", "grouped", "--logical-date", "2024-01-15", check=True)
    shown = home.runs_show("grouped", RUN_ID)
    assert {t: ti["state"] for t, ti in shown["tasks"].items()} == {
        "g.t": "success",
        "g.u": "success",
        "gxt": "success",
    }
    log = home.run("logs", "grouped", RUN_ID, "g.t", check=True)
    assert "hello from g.t" in log.stdout
    assert (home.path / "logs" / "grouped" / RUN_ID / "g.t" / "attempt=1.log").is_file()

    cleared = home.run("tasks", "clear", "grouped", "--task", r"^g\.t$", "--downstream", check=True)
    assert "g.t" in cleared.stdout
    shown = home.runs_show("grouped", RUN_ID)
    assert {t: ti["state"] for t, ti in shown["tasks"].items()} == {
        "g.t": "none",
        "g.u": "none",
        "gxt": "success",
    }
    tested = home.run("tasks", "test", "grouped", "g.t", check=True)
    assert "hello from g.t" in tested.stdout
