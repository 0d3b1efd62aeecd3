"""W1 for Luigi, the peer the issue compares start-up with: a chain of 20 no-op tasks run by
Luigi's local scheduler with one worker, in one process, as `luigi --local-scheduler` runs it.
Run by an interpreter that has Luigi (`run.py --luigi-python PATH`); it is not a dependency
of flowtui. Completion is kept in memory, so each task runs once and touches no file.

    python bench/peers/luigi_w1.py
"""

from __future__ import annotations

import logging
import sys

import luigi

TASKS = 20
_done: set[int] = set()


class Step(luigi.Task):  # type: ignore[misc]  # Luigi ships no type stubs
    """Task `number` of the chain: it needs the one before it and does nothing."""

    number = luigi.IntParameter()

    def requires(self) -> list[Step]:
        return [Step(number=self.number - 1)] if self.number > 0 else []

    def complete(self) -> bool:
        return self.number in _done

    def run(self) -> None:
        _done.add(self.number)


def main() -> int:
    logging.disable(logging.WARNING)  # Luigi's progress lines are not part of the figure
    ok = luigi.build([Step(number=TASKS - 1)], local_scheduler=True, workers=1)
    if not ok or len(_done) != TASKS:
        print(f"Luigi W1 failed: {len(_done)} of {TASKS} tasks ran", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
