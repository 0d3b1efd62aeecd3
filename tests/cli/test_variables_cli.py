"""`flowtui variables get|set|list|delete`: output, exit codes and one-line errors, masking in
`list`, the FLOWTUI_VAR_ override, the audit events, and a real `dags test` whose task logs
hide secret values while plain variables print in clear."""

from __future__ import annotations

import getpass
import json
import subprocess

from tests.conftest import FLOWTUI, Home

SECRET = "hunter22-s3cret"


def run(home: Home, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`flowtui ARGS` on `home`, with extra environment variables."""
    return subprocess.run(
        [FLOWTUI, *args],
        env={**home.env, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_set_get_list_delete(home: Home) -> None:
    done = run(home, "variables", "set", "db_password", SECRET, "--description", "warehouse")
    assert (done.returncode, done.stdout, done.stderr) == (0, "variable db_password set\n", "")
    run(home, "variables", "set", "region", "eu-west-1")
    assert run(home, "variables", "get", "db_password").stdout == SECRET + "\n"
    listed = run(home, "variables", "list")
    assert listed.returncode == 0
    assert SECRET not in listed.stdout
    assert listed.stdout.splitlines() == [
        "key          value      description  env_override",
        "db_password  ***        warehouse",
        "region       eu-west-1",
    ]
    done = run(home, "variables", "delete", "region")
    assert (done.returncode, done.stdout) == (0, "variable region deleted\n")
    assert [r["key"] for r in _list_json(home)] == ["db_password"]


def _list_json(home: Home, **env: str) -> list[dict[str, object]]:
    done = run(home, "variables", "list", "--output", "json", **env)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


def test_list_json_masks_secrets_and_names_the_environment_override(home: Home) -> None:
    run(home, "variables", "set", "api_token", "tok-123456")
    run(home, "variables", "set", "region", "eu-west-1")
    assert _list_json(home, FLOWTUI_VAR_REGION="us-east-2") == [
        {"key": "api_token", "value": "***", "description": "", "env_override": None},
        {
            "key": "region",
            "value": "eu-west-1",
            "description": "",
            "env_override": "FLOWTUI_VAR_REGION",
        },
    ]


def test_the_environment_overrides_the_store(home: Home) -> None:
    run(home, "variables", "set", "region", "eu-west-1")
    got = run(home, "variables", "get", "region", FLOWTUI_VAR_REGION="us-east-2")
    assert got.stdout == "us-east-2\n"
    assert run(home, "variables", "get", "only_env", FLOWTUI_VAR_ONLY_ENV="x").stdout == "x\n"
    done = run(home, "variables", "set", "region", "eu-central-1", FLOWTUI_VAR_REGION="us")
    assert done.returncode == 0
    assert done.stderr == "note: FLOWTUI_VAR_REGION is set here and overrides it\n"


def test_json_values(home: Home) -> None:
    done = run(home, "variables", "set", "cfg", '{"a": [1', "--json")
    assert done.returncode == 1
    assert done.stderr == (
        "flowtui: error: VALUE '{\"a\": [1' is not valid; "
        "--json needs JSON (Expecting ',' delimiter)\n"
    )
    assert run(home, "variables", "set", "cfg", '{"a": [1, 2]}', "--json").returncode == 0
    assert json.loads(run(home, "variables", "get", "cfg", "--json").stdout) == {"a": [1, 2]}
    pretty = run(home, "variables", "get", "cfg", "--json").stdout
    assert pretty == '{\n  "a": [\n    1,\n    2\n  ]\n}\n'
    run(home, "variables", "set", "plain", "text")
    done = run(home, "variables", "get", "plain", "--json")
    assert done.returncode == 1
    assert done.stderr == (
        "flowtui: error: variable 'plain' does not hold JSON (Expecting value); "
        "drop --json to print it as text\n"
    )


def test_missing_keys_and_bad_keys_are_one_line_errors(home: Home) -> None:
    done = run(home, "variables", "get", "nope")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "flowtui: error: variable 'nope' is not set; set it with "
        "`flowtui variables set nope VALUE` or the environment variable FLOWTUI_VAR_NOPE\n"
    )
    done = run(home, "variables", "delete", "nope")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "flowtui: error: variable 'nope' is not in the store; see `flowtui variables list`\n"
    )
    done = run(home, "variables", "delete", "nope", FLOWTUI_VAR_NOPE="1")
    assert "comes from the environment variable FLOWTUI_VAR_NOPE: unset it there" in done.stderr
    done = run(home, "variables", "set", "bad key", "1")
    assert done.returncode == 1
    assert done.stderr == (
        "flowtui: error: variable key 'bad key' is not valid; "
        "use 1 to 250 letters, digits, '_', '.' or '-'\n"
    )


def test_deleting_an_environment_only_variable_on_a_fresh_home_names_the_environment(
    home: Home,
) -> None:
    assert not home.path.exists()
    done = run(home, "variables", "delete", "x", FLOWTUI_VAR_X="1")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "flowtui: error: variable 'x' is not in the store; it comes from the environment "
        "variable FLOWTUI_VAR_X: unset it there\n"
    )


def test_set_and_delete_are_audited_without_secret_values(home: Home) -> None:
    run(home, "variables", "set", "db_password", SECRET)
    run(home, "variables", "set", "region", "eu-west-1", "--description", "where")
    run(home, "variables", "delete", "db_password")
    events = [e for e in home.events() if e["kind"] == "command"]
    assert {e["actor"] for e in events} == {f"cli:{getpass.getuser()}"}
    assert [json.loads(str(e["detail"])) for e in events] == [
        {
            "command": "set_variable",
            "args": {"key": "db_password", "value": "***", "description": None},
        },
        {
            "command": "set_variable",
            "args": {"key": "region", "value": "eu-west-1", "description": "where"},
        },
        {"command": "delete_variable", "args": {"key": "db_password"}},
    ]
    assert all(SECRET not in str(e["detail"]) for e in events)


LEAKY = """
    from datetime import datetime
    from flowtui import DAG, BashOperator, PythonOperator, Variable

    def leak():
        print("python password:", Variable.get("db_password"))
        print("python token:", Variable.get("api_token"))
        print("python cfg:", Variable.get("db_credentials", deserialize_json=True))
        print("python region:", Variable.get("region"))
        print("python greeting:", Variable.get("greeting"))

    with DAG("leaky", start_date=datetime(2024, 1, 1)) as dag:
        py = PythonOperator(task_id="py", python_callable=leak)
        sh = BashOperator(
            task_id="sh",
            bash_command=(
                "echo bash password: {{ var.value.db_password }}; "
                "echo bash token: $FLOWTUI_VAR_API_TOKEN >&2; "
                "echo bash region: {{ var.value.region }}"
            ),
        )
        py >> sh
"""


def test_dags_test_logs_hide_secret_values(home: Home) -> None:
    home.write_dag("leaky.py", LEAKY)
    run(home, "variables", "set", "db_password", SECRET)
    run(home, "variables", "set", "db_credentials", json.dumps({"pw": "inner-pw-77"}), "--json")
    run(home, "variables", "set", "region", "eu-west-1")
    done = run(
        home,
        "dags",
        "test",
        "leaky",
        "--logical-date",
        "2024-03-01",
        FLOWTUI_VAR_API_TOKEN="tok-from-env",
        FLOWTUI_VAR_GREETING="hello-from-env",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    logs = {p.parent.name: p.read_text() for p in (home.path / "logs" / "leaky").rglob("*.log")}
    assert set(logs) == {"py", "sh"}
    assert "python password: ***" in logs["py"]
    assert "python token: ***" in logs["py"]
    assert "python cfg: {'pw': '***'}" in logs["py"]
    assert "python region: eu-west-1" in logs["py"]
    assert "python greeting: hello-from-env" in logs["py"]  # an override, not secret: in clear
    assert "bash password: ***" in logs["sh"]
    assert "bash token: ***" in logs["sh"]
    assert "bash region: eu-west-1" in logs["sh"]
    for secret in (SECRET, "tok-from-env", "inner-pw-77"):
        assert secret not in logs["py"] + logs["sh"] + done.stdout
