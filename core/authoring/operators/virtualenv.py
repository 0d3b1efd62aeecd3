"""`PythonVirtualenvOperator` and `ExternalPythonOperator` (and `@task.virtualenv`,
`@task.external_python`): the callable's source runs in another interpreter, a virtualenv made
once per requirements set (`venv_cache`) or an existing Python, as in Airflow. Arguments and the
return value cross as JSON, where Airflow pickles them."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from flowtui.authoring.baseoperator import Context
from flowtui.authoring.exceptions import SkipTask
from flowtui.authoring.operators.python import PythonOperator
from flowtui.errors import InvalidArgument

CONTEXT_KEYS = (
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "run_id",
    "task_instance_key_str",
    "params",
)
"""The context keys the callable may name: plain values JSON carries (Airflow passes the
serializable ones; objects such as `ti` stay behind)."""


class _OtherPythonOperator(PythonOperator):
    """What both operators share: the source, the JSON crossing, the exit codes."""

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        use_dill: bool = False,
        serializer: str | None = None,
        skip_on_exit_code: int | Iterable[int] | None = None,
        env_vars: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        expect_airflow: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        place = self._where()
        if use_dill or serializer not in (None, "json"):
            chosen = "use_dill=True" if use_dill else f"serializer={serializer!r}"
            raise InvalidArgument(
                place,
                f"{chosen} is refused: flowtui passes arguments and the return value as JSON, "
                "never pickle or dill; leave it out",
            )
        import inspect

        if not inspect.isfunction(python_callable) or python_callable.__name__ == "<lambda>":
            raise InvalidArgument(
                place, "python_callable must be a function defined with def (its source runs)"
            )
        codes = () if skip_on_exit_code is None else skip_on_exit_code
        self.skip_on_exit_code = (codes,) if isinstance(codes, int) else tuple(codes)
        self.env_vars = dict(env_vars or {})
        self.inherit_env = bool(inherit_env)
        self.expect_airflow = expect_airflow  # Airflow only warns on it; nothing to do here

    def python_path(self) -> Path:
        """The interpreter that runs the callable."""
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        """Run the callable's source in the other interpreter; its JSON return value back."""
        python = self.python_path()
        plain = {key: context[key] for key in CONTEXT_KEYS if key in context}
        args = list(self.op_args)
        kwargs = _named_context(self.python_callable, args, self.op_kwargs, plain)
        import tempfile  # here, as subprocess and shutil: most DAG files never need them

        with tempfile.TemporaryDirectory(prefix="flowtui-venv-") as folder:
            given, returned = Path(folder) / "arguments.json", Path(folder) / "return.json"
            payload = {
                "source": _function_source(self.python_callable),
                "filename": self.python_callable.__code__.co_filename,
                "name": self.python_callable.__name__,
                "args": args,
                "kwargs": kwargs,
            }
            try:
                given.write_text(json.dumps(payload))
            except (TypeError, ValueError) as exc:
                raise InvalidArgument(
                    self._where(),
                    f"op_args and op_kwargs must be JSON values for another interpreter: {exc}",
                ) from None
            code = self._run([str(python), str(_ENTRY), str(given), str(returned)])
            if code in self.skip_on_exit_code:
                raise SkipTask(f"the callable exited with code {code}")
            if code != 0:
                raise RuntimeError(f"the callable's process in {python} exited with code {code}")
            return json.loads(returned.read_text()) if returned.exists() else None

    def _run(self, command: list[str]) -> int:
        import subprocess

        env = {**os.environ, **self.env_vars} if self.inherit_env else dict(self.env_vars)
        # Through this process's stdout, so the task log masks secrets in it too.
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
            sys.stdout.flush()
            return process.wait()


_ENTRY = Path(__file__).with_name("venv_entry.py")


def _named_context(
    fn: Callable[..., Any], args: list[Any], kwargs: Mapping[str, Any], plain: dict[str, Any]
) -> dict[str, Any]:
    """`kwargs` with the plain context keys `fn` names (all of them with `**kwargs`), as
    `call_with_context` chooses them in this interpreter."""
    import inspect

    params = inspect.signature(fn).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return {**plain, **kwargs}
    names = {p.name for p in list(params)[len(args) :]}
    return {**{k: v for k, v in plain.items() if k in names}, **kwargs}


def _function_source(fn: Callable[..., Any]) -> str:
    """The function's own source, dedented, without its decorators (`@task.virtualenv`)."""
    import ast
    import inspect
    import textwrap

    source = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))
    return "\n".join(source.splitlines()[node.lineno - 1 :]) + "\n"


class PythonVirtualenvOperator(_OtherPythonOperator):
    """Run `python_callable` in a virtualenv with `requirements`, as Airflow's; the venv is made
    once per requirements set under `$FLOWTUI_HOME/venvs` (or `venv_cache_path`) and reused.

    Args:
        requirements: pip requirement lines (a list, or one string of lines; templated).
        python_version: the venv's Python ("3.11"); another version than this interpreter's
            needs `python3.X` on the PATH.
        system_site_packages: the venv sees the base interpreter's packages (default True).
        pip_install_options: more `pip install` options (`["--no-index"]`).
        index_urls: the package index, then extra ones.
        venv_cache_path: where the venvs are kept instead of `$FLOWTUI_HOME/venvs`.
        op_args, op_kwargs: JSON values; the callable may also name the plain context keys
            (`CONTEXT_KEYS`). `use_dill=True` and pickle serializers are refused.
    """

    template_fields: ClassVar[tuple[str, ...]] = (*PythonOperator.template_fields, "requirements")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        requirements: Iterable[str] | str | None = None,
        python_version: str | float | None = None,
        system_site_packages: bool = True,
        pip_install_options: Iterable[str] | None = None,
        index_urls: Iterable[str] | str | None = None,
        venv_cache_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        place = self._where()
        if isinstance(requirements, str) and requirements.strip().endswith(".txt"):
            raise InvalidArgument(
                place, "requirements: give the requirement lines, not a requirements file"
            )
        lines = requirements.splitlines() if isinstance(requirements, str) else requirements
        self.requirements = [str(r).strip() for r in lines or () if str(r).strip()]
        self.python = _interpreter(python_version, place)
        self.system_site_packages = bool(system_site_packages)
        self.pip_install_options = [str(o) for o in pip_install_options or ()]
        urls = [index_urls] if isinstance(index_urls, str) else list(index_urls or ())
        self.index_urls = [str(u) for u in urls]
        self.venv_cache_path = venv_cache_path

    def python_path(self) -> Path:
        from flowtui.authoring.venv_cache import VenvSpec, venv_python
        from flowtui.config import resolve_home

        cache = Path(self.venv_cache_path or resolve_home() / "venvs")
        spec = VenvSpec(
            self.python,
            tuple(self.requirements),
            self.system_site_packages,
            tuple(self.pip_install_options),
            tuple(self.index_urls),
        )
        return venv_python(cache, spec)


def _interpreter(version: str | float | None, place: str) -> str:
    """The Python a venv of `version` is made from: this one, else `python<version>`."""
    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    if version is None or str(version) in (mine, str(sys.version_info.major)):
        return sys.executable
    import shutil

    found = shutil.which(f"python{version}")
    if found is None:
        raise InvalidArgument(
            place,
            f"python_version={version!r}: no python{version} on the PATH (this is Python "
            f"{mine}); install it or leave python_version out",
        )
    return found


class ExternalPythonOperator(_OtherPythonOperator):
    """Run `python_callable` with an existing interpreter (`python`, e.g. a venv's
    `bin/python`), as Airflow's; nothing is installed.

    Args:
        python: the interpreter's path (templated).
        op_args, op_kwargs: as `PythonVirtualenvOperator`'s.
    """

    template_fields: ClassVar[tuple[str, ...]] = (*PythonOperator.template_fields, "python")

    def __init__(
        self,
        *,
        python: str | os.PathLike[str],
        python_callable: Callable[..., Any],
        expect_pendulum: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        if not str(python).strip():
            raise InvalidArgument(self._where(), "python must be the path of an interpreter")
        self.python = str(python)
        self.expect_pendulum = expect_pendulum  # Airflow only warns on it

    def python_path(self) -> Path:
        path = Path(self.python)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise FileNotFoundError(f"python {self.python!r} is no executable file")
        return path


class VirtualenvDecoratedOperator(PythonVirtualenvOperator):
    """`@task.virtualenv`'s operator."""

    operator_name: ClassVar[str | None] = "@task.virtualenv"

    def __init__(self, *, multiple_outputs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple_outputs = bool(multiple_outputs)


class ExternalPythonDecoratedOperator(ExternalPythonOperator):
    """`@task.external_python`'s operator."""

    operator_name: ClassVar[str | None] = "@task.external_python"

    def __init__(self, *, multiple_outputs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple_outputs = bool(multiple_outputs)
