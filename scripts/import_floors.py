"""Print how many floors flowtui's import graph has: the longest chain of imports between its
modules (TYPE_CHECKING and function-level imports included), with that chain, or an import
cycle. Exits 1 on a cycle. Run by `scripts/check`, on the type-checking tree it builds."""

from __future__ import annotations

import sys
from graphlib import CycleError, TopologicalSorter

import grimp


def main() -> int:
    graph = grimp.build_graph("flowtui", include_external_packages=False)
    modules = sorted(m for m in graph.modules if not m.startswith("flowtui.sample_dags"))
    imports = {m: graph.find_modules_directly_imported_by(m) & set(modules) for m in modules}
    try:
        order = list(TopologicalSorter(imports).static_order())  # imported modules first
    except CycleError as error:
        print("import cycle: " + " -> ".join(error.args[1]))
        return 1
    floors: dict[str, int] = {}
    for module in order:
        floors[module] = 1 + max((floors[m] for m in imports[module]), default=0)
    top = max(modules, key=floors.__getitem__)
    chain = [top]
    while imports[chain[-1]]:
        chain.append(max(imports[chain[-1]], key=floors.__getitem__))
    print(f"{floors[top]} floors: " + " -> ".join(chain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
