"""Print how many floors flowtui's import graph has: the longest chain of imports between its
modules (TYPE_CHECKING and function-level imports included), with that chain, and any import
cycle. Exits 1 on a cycle. Run by `scripts/check`, on the type-checking tree it builds."""

from __future__ import annotations

import functools
import sys

import grimp


def main() -> int:
    graph = grimp.build_graph("flowtui", include_external_packages=False)
    modules = sorted(m for m in graph.modules if not m.startswith("flowtui.sample_dags"))
    imports = {m: graph.find_modules_directly_imported_by(m) & set(modules) for m in modules}
    cycles = _cycles(imports)
    if cycles:
        for cycle in cycles:
            print("import cycle among: " + ", ".join(cycle))
        return 1

    @functools.cache
    def floors(module: str) -> int:
        return 1 + max((floors(m) for m in imports[module]), default=0)

    top = max(modules, key=floors)
    chain = [top]
    while imports[chain[-1]]:
        chain.append(max(imports[chain[-1]], key=floors))
    print(f"{floors(top)} floors: " + " -> ".join(chain))
    return 0


def _cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in imports[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for module in imports:
        if module not in index:
            visit(module)
    return found


if __name__ == "__main__":
    sys.exit(main())
