"""The `airflow` import hook: a meta-path finder that serves `airflow` and the submodules DAG
files written for Airflow import (`airflow_names.SERVED`) from flowtui's own names, so those files
run unchanged without Airflow. Installed only in the processes that load and run DAG files (the
fork server and its children, `tasks test`): the command line, the scheduler and the dashboard
keep whatever `airflow` the machine has. Where installed it comes first, ahead of an installed
Airflow. A module or name it does not serve fails the import with one line
(`UnsupportedAirflowImport`), never an AttributeError.

Cheap to import (every parse child and the fork server do): the table of served names loads at
the first `airflow` import, each flowtui object behind a name when a DAG file asks for it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, cast

from flowtui.errors import UnsupportedAirflowImport

if TYPE_CHECKING:
    from importlib.abc import Loader


class AirflowFinder:
    """Finds and loads the served `airflow` modules; refuses the others."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        from flowtui.loading.airflow_names import SERVED

        if fullname not in SERVED:
            raise UnsupportedAirflowImport(fullname, _imported_names(sys._getframe(1)))
        # A package (with an empty __path__), so that its served submodules import too.
        # A Loader by its methods: subclassing importlib.abc's would import importlib.resources.
        return ModuleSpec(fullname, cast("Loader", self), is_package=True)

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        from flowtui.loading.airflow_names import SERVED

        names = SERVED[module.__name__]
        module.__all__ = sorted(names)  # type: ignore[attr-defined]
        module.__getattr__ = _name_resolver(module.__name__, names)  # type: ignore[method-assign]


_FINDER = AirflowFinder()


def install() -> None:
    """Put the hook first on `sys.meta_path` (once; later calls do nothing)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def is_installed() -> bool:
    return _FINDER in sys.meta_path


def _name_resolver(module_name: str, names: dict[str, str]) -> Callable[[str], Any]:
    """The module's `__getattr__` (PEP 562): a served name loads its flowtui object on first
    use and stays on the module; a served submodule imports; anything else is refused."""

    from flowtui.loading.airflow_names import SERVED

    def resolve(name: str) -> Any:
        target = names.get(name)
        if target is not None:
            home, _, attribute = target.partition(":")
            value = getattr(importlib.import_module(home), attribute)
            setattr(sys.modules[module_name], name, value)
            return value
        if f"{module_name}.{name}" in SERVED:
            return importlib.import_module(f"{module_name}.{name}")
        if name.startswith("_"):  # dunders and private names are probed by Python itself
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        raise UnsupportedAirflowImport(module_name, (name,))

    return resolve


def _imported_names(frame: FrameType | None) -> tuple[str, ...]:
    """The names a `from airflow.x import a, b` statement asks for, read from the bytecode of
    the frame that runs it (the first one outside importlib); () for a plain `import`."""
    while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        frame = frame.f_back
    if frame is None:
        return ()
    import dis  # only on the way to an error

    names: list[str] = []
    is_after_import = False
    for instruction in dis.get_instructions(frame.f_code):
        if not is_after_import:
            is_after_import = (
                instruction.offset == frame.f_lasti and instruction.opname == "IMPORT_NAME"
            )
        elif instruction.opname == "IMPORT_FROM":
            names.append(str(instruction.argval))
        elif not instruction.opname.startswith("STORE_"):
            break
    return tuple(names)
