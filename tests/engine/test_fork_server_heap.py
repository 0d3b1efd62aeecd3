"""What the fork server keeps for its attempts, through the real `flowtui dags test`: a DAG
file's templates are compiled once there (jinja2 is imported only for DAGs that have any),
and operators keep working with attributes of their own (their arguments live in slots)."""

from __future__ import annotations

from tests.conftest import Home


def test_jinja2_stays_out_of_attempts_of_a_dag_without_templates(home: Home) -> None:
    home.write_dag(
        "plain.py",
        """
        import sys
        from flowtui import DAG, PythonOperator

        def no_jinja():
            assert "jinja2" not in sys.modules, "jinja2 was imported for a DAG without templates"

        with DAG("plain", schedule=None) as dag:
            PythonOperator(task_id="check", python_callable=no_jinja)
    """,
    )
    done = home.run("dags", "test", "plain")
    assert done.returncode == 0, done.stdout + done.stderr


def test_templates_are_compiled_before_the_attempt_forks(home: Home) -> None:
    home.write_dag(
        "templated.py",
        """
        import sys
        from flowtui import DAG, BashOperator, PythonOperator
        from flowtui.authoring import templating

        def compiled_already():
            assert "jinja2" in sys.modules, "the fork server did not import jinja2"
            assert templating._compile.cache_info().currsize >= 1, "nothing compiled"

        with DAG("templated", schedule=None) as dag:
            check = PythonOperator(task_id="check", python_callable=compiled_already)
            echo = BashOperator(task_id="echo", bash_command="echo day={{ ds }}")
            check >> echo
    """,
    )
    done = home.run("dags", "test", "templated", "--logical-date", "2024-03-05")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "day=2024-03-05" in done.stdout


def test_operators_take_attributes_of_their_own(home: Home) -> None:
    home.write_dag(
        "custom.py",
        """
        from flowtui import DAG
        from flowtui.authoring.baseoperator import BaseOperator

        class Greet(BaseOperator):
            def __init__(self, *, name, **kwargs):
                super().__init__(**kwargs)
                self.name = name

            def execute(self, context):
                print(f"hello {self.name} from {self.task_id}, {self.owner}")

        with DAG("custom", schedule=None) as dag:
            greet = Greet(task_id="greet", name="ada", owner="ops")
            greet.note = "set after construction"
            plain = BaseOperator(task_id="plain")
            plain.doc = "any attribute, even on a bare BaseOperator"
    """,
    )
    done = home.run("dags", "list")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "custom" in done.stdout
    done = home.run("tasks", "test", "custom", "greet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello ada from greet, ops" in done.stdout


def test_a_slow_dag_file_is_imported_once_in_the_fork_server(home: Home) -> None:
    # 5.1 s: slower than the bound that used to send such files to every attempt again.
    home.write_dag(
        "slow.py",
        """
        import os, time
        from flowtui import DAG, PythonOperator

        IMPORTED_BY = os.getpid()
        time.sleep(5.1)

        def inherited():
            assert os.getpid() != IMPORTED_BY, "the attempt imported its DAG file itself"

        with DAG("slow", schedule=None) as dag:
            first = PythonOperator(task_id="first", python_callable=inherited)
            second = PythonOperator(task_id="second", python_callable=inherited)
            first >> second
    """,
    )
    done = home.run("dags", "test", "slow", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
