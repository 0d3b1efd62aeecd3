"""`PythonVirtualenvOperator` and `ExternalPythonOperator` in process: a local wheel installed
into a venv made once under the cache and reused, two attempts racing for one venv, a half-made
venv rebuilt, JSON (never pickle) across the interpreters, and what is refused at load. No
network: requirements are [] or a wheel made here. Whole runs from an Airflow-style file are in
test_airflow_dags.py."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from flowtui import DAG, ExternalPythonOperator, PythonVirtualenvOperator
from flowtui.authoring.exceptions import SkipTask
from flowtui.authoring.venv_cache import READY, VenvSpec, venv_python
from flowtui.errors import InvalidArgument

CONTEXT = {"ds": "2024-01-15", "run_id": "r1", "params": {"who": "me"}, "ti": object()}


def _wheel(folder: Path) -> Path:
    """A tiny installable wheel (module `tinypkg`, VALUE = 41), made without any build tool."""
    path = folder / "tinypkg-1.0-py3-none-any.whl"
    files = {
        "tinypkg/__init__.py": "VALUE = 41\n",
        "tinypkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
        "tinypkg-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},,\n" for name in files) + "tinypkg-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in {**files, "tinypkg-1.0.dist-info/RECORD": record}.items():
            wheel.writestr(name, text)
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One venv cache for the module: a venv is made once, as in a home."""
    return tmp_path_factory.mktemp("venvs")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _wheel(tmp_path_factory.mktemp("wheel"))


def uses_the_package(n, ds):  # type: ignore[no-untyped-def]
    import tinypkg  # type: ignore[import-not-found]  # only in the venv

    return {"value": tinypkg.VALUE + n, "ds": ds}


def with_context(**context):  # type: ignore[no-untyped-def]
    return sorted(context)


def environment():  # type: ignore[no-untyped-def]
    import os

    return [os.environ.get("GIVEN"), "HOME" in os.environ]


def returns_a_set():  # type: ignore[no-untyped-def]
    return {1, 2}


def exits(code):  # type: ignore[no-untyped-def]
    import sys

    sys.exit(code)


def _operator(cls: type[Any], **arguments: Any) -> Any:
    with DAG("venvs", schedule=None):
        return cls(task_id="t", **arguments)


def test_a_wheel_requirement_is_installed_once_and_the_venv_reused(
    cache: Path, wheel: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = {
        "python_callable": uses_the_package,
        "requirements": [str(wheel)],
        "pip_install_options": ["--no-index"],
        "system_site_packages": False,
        "venv_cache_path": str(cache),
        "op_kwargs": {"n": 1},
    }
    first = _operator(PythonVirtualenvOperator, **arguments).execute(dict(CONTEXT))
    assert first == {"value": 42, "ds": "2024-01-15"}
    assert "creating the virtualenv" in capsys.readouterr().out
    [venv] = [p for p in cache.iterdir() if p.is_dir()]
    made = (venv / READY).stat().st_mtime_ns
    again = _operator(PythonVirtualenvOperator, **arguments).execute(dict(CONTEXT))
    assert again == first
    assert "creating the virtualenv" not in capsys.readouterr().out
    assert (venv / READY).stat().st_mtime_ns == made
    with pytest.raises(ImportError):  # flowtui's own interpreter never saw tinypkg
        import tinypkg  # noqa: F401


def test_only_plain_context_keys_cross_to_the_other_interpreter(cache: Path) -> None:
    task = _operator(ExternalPythonOperator, python=sys.executable, python_callable=with_context)
    assert task.execute(dict(CONTEXT)) == ["ds", "params", "run_id"]


@pytest.mark.parametrize("inherit_env", [True, False])
def test_env_vars_reach_the_callable_with_or_without_the_attempts_own(inherit_env: bool) -> None:
    task = _operator(
        ExternalPythonOperator,
        python=sys.executable,
        python_callable=environment,
        env_vars={"GIVEN": "yes"},
        inherit_env=inherit_env,
    )
    assert task.execute(dict(CONTEXT)) == ["yes", inherit_env]


def test_two_attempts_racing_for_one_venv_build_it_once(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path\n"
        "from flowtui.authoring.venv_cache import VenvSpec, venv_python\n"
        "spec = VenvSpec(sys.executable, (), False, (), ())\n"
        "print(venv_python(Path(sys.argv[1]), spec))\n"
    )
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [racer.communicate(timeout=60)[0] for racer in racers]
    assert all(racer.returncode == 0 for racer in racers)
    assert sum(out.count("creating the virtualenv") for out in outputs) == 1
    pythons = {out.splitlines()[-1] for out in outputs}
    assert len(pythons) == 1
    assert os.access(pythons.pop(), os.X_OK)


def test_a_half_made_venv_is_removed_and_built_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = VenvSpec(sys.executable, (), False, (), ())
    half = tmp_path / spec.key()
    (half / "bin").mkdir(parents=True)
    (half / "bin" / "python").write_text("#!/bin/sh\nexit 3\n")  # killed mid-build
    python = venv_python(tmp_path, spec)
    assert "removing the half-made virtualenv" in capsys.readouterr().out
    assert (half / READY).exists()
    done = subprocess.run([python, "-c", "print(1)"], capture_output=True, text=True, check=True)
    assert done.stdout == "1\n"


def test_a_return_value_json_cannot_carry_fails_the_task(
    capsys: pytest.CaptureFixture[str],
) -> None:
    task = _operator(ExternalPythonOperator, python=sys.executable, python_callable=returns_a_set)
    with pytest.raises(RuntimeError, match="exited with code 1"):
        task.execute(dict(CONTEXT))
    assert "is not JSON" in capsys.readouterr().out


def test_arguments_json_cannot_carry_are_one_line() -> None:
    task = _operator(
        ExternalPythonOperator, python=sys.executable, python_callable=exits, op_args=[{1}]
    )
    with pytest.raises(InvalidArgument, match="op_args and op_kwargs must be JSON values"):
        task.execute(dict(CONTEXT))


def test_an_exit_code_in_skip_on_exit_code_skips() -> None:
    task = _operator(
        ExternalPythonOperator,
        python=sys.executable,
        python_callable=exits,
        op_args=[5],
        skip_on_exit_code=5,
    )
    with pytest.raises(SkipTask):
        task.execute(dict(CONTEXT))


def test_a_missing_external_python_fails_the_task_as_in_airflow(tmp_path: Path) -> None:
    task = _operator(
        ExternalPythonOperator, python=str(tmp_path / "nope"), python_callable=returns_a_set
    )
    with pytest.raises(FileNotFoundError, match="is no executable file"):
        task.execute(dict(CONTEXT))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"use_dill": True}, "use_dill=True is refused: flowtui passes arguments and the return"),
        ({"serializer": "cloudpickle"}, "serializer='cloudpickle' is refused"),
        ({"python_version": "1.5"}, "python_version=.1.5.: no python1.5 on the PATH"),
        ({"python_callable": lambda: 1}, "python_callable must be a function defined with def"),
        ({"string_args": ["a"]}, "PythonVirtualenvOperator takes no argument 'string_args'"),
        ({"requirements": "requirements.txt"}, "give the requirement lines, not a requirements"),
    ],
)
def test_what_flowtui_cannot_honour_is_refused_at_load(
    arguments: dict[str, Any], message: str
) -> None:
    given = {"python_callable": returns_a_set, "requirements": [], **arguments}
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")) as info:
        _operator(PythonVirtualenvOperator, **given)
    assert "\n" not in str(info.value)


def test_this_interpreters_python_version_needs_no_other_python() -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    task = _operator(
        PythonVirtualenvOperator, python_callable=returns_a_set, python_version=version
    )
    assert task.python == sys.executable
