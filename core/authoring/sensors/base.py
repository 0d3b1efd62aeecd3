"""`BaseSensorOperator`: a task that waits for a condition, Airflow's way. Its `poke(context)`
says whether the condition holds; `execute` pokes until it does, or until `timeout` (then it
fails without retry, or is skipped with `soft_fail`).

In `mode="poke"` it waits in its own process between pokes, holding its slot. In
`mode="reschedule"` each poke is an attempt's process of its own: when the condition does not
hold, the attempt ends `up_for_reschedule`, freeing its slot, and the scheduler starts the
next poke when it is due. Either way, what `wake_on` names ends a wait early: a file that
appears (`("path", glob)`), watched with watchdog, or a state change of another DAG's task
instances (`("dag", dag_id)`), so a sensor notices within a second what it waits for, whatever
its `poke_interval`. The intervals grow with `exponential_backoff` (doubling, capped by
`max_wait`), and the timeout counts from the try's first poke."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from flowtui.authoring.arguments import to_timedelta
from flowtui.authoring.baseoperator import BaseOperator, Context
from flowtui.authoring.exceptions import Reschedule, SensorTimeout, SkipTask
from flowtui.errors import InvalidArgument

Wake = tuple[str, str]
"""What may end a sensor's wait early: ("path", glob) or ("dag", dag_id)."""

_MODES = ("poke", "reschedule")


class PokeReturnValue:
    """What `poke` may return instead of a bool: whether the condition holds, and the XCom
    value the sensor returns once it does."""

    def __init__(self, is_done: bool, xcom_value: Any = None) -> None:
        self.is_done = bool(is_done)
        self.xcom_value = xcom_value

    def __bool__(self) -> bool:
        return self.is_done

    def __repr__(self) -> str:
        return f"PokeReturnValue(is_done={self.is_done}, xcom_value={self.xcom_value!r})"


class BaseSensorOperator(BaseOperator):
    """Wait until `poke(context)` is true.

    Args:
        poke_interval: time between pokes (a timedelta or seconds); default 60 s.
        timeout: how long to wait in all, from the try's first poke; default 7 days.
        soft_fail: at the timeout, end `skipped` instead of `failed`.
        mode: "poke" (wait in the process) or "reschedule" (free the slot between pokes).
        exponential_backoff: double the interval after each poke.
        max_wait: the longest interval `exponential_backoff` may reach.
    """

    is_sensor: ClassVar[bool] = True

    def __init__(
        self,
        *,
        poke_interval: timedelta | float = 60.0,
        timeout: timedelta | float = timedelta(days=7),
        soft_fail: bool = False,
        mode: str = "poke",
        exponential_backoff: bool = False,
        max_wait: timedelta | float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        place = self._where()
        interval = to_timedelta(poke_interval, place, "poke_interval")
        self.poke_interval = interval.total_seconds() if interval is not None else 60.0
        limit = to_timedelta(timeout, place, "timeout")
        self.timeout = limit.total_seconds() if limit is not None else 7 * 86400.0
        if mode not in _MODES:
            raise InvalidArgument(place, f"mode must be 'poke' or 'reschedule', got {mode!r}")
        self.mode = mode
        self.soft_fail = bool(soft_fail)
        self.exponential_backoff = bool(exponential_backoff)
        cap = to_timedelta(max_wait, place, "max_wait")
        self.max_wait = cap.total_seconds() if cap is not None else None

    @property
    def reschedule(self) -> bool:
        return self.mode == "reschedule"

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Whether the condition holds now; a sensor must say."""
        raise NotImplementedError(f"{type(self).__name__} must define poke(context)")

    def wake_on(self, context: Context) -> list[Wake]:
        """What may end a wait between two pokes early (see the module docstring)."""
        return []

    def execute(self, context: Context) -> Any:
        """Poke until the condition holds (returning the poke's XCom value), the timeout
        passes, or, in reschedule mode, the first poke that finds it unmet ends the attempt."""
        ti = context["ti"]
        started = ti.sensing_since or _now()
        waker = None
        try:
            while True:
                poked_at = time.time()
                result = self.poke(context)
                if result:
                    self.log_line("the condition holds")
                    return result.xcom_value if isinstance(result, PokeReturnValue) else None
                waited = (_now() - started).total_seconds()
                if waited >= self.timeout:
                    self._time_out()
                delay = min(self._interval(waited), self.timeout - waited)
                wake = tuple(self.wake_on(context))
                if self.reschedule:
                    self.log_line(f"not yet; poking again in {_seconds(delay)}")
                    raise Reschedule(_now() + timedelta(seconds=delay), wake)
                if waker is None:
                    from flowtui.authoring.sensors.waiting import Waker

                    waker = Waker(wake, ti.store_path, poked_at)
                self.log_line(f"not yet; poking again in {_seconds(delay)}")
                waker.wait(delay)
        finally:
            if waker is not None:
                waker.close()

    def _interval(self, waited: float) -> float:
        """The time to the next poke, `waited` seconds into the wait: with backoff, doubled
        per poke so far (derived from the time waited, so that it holds across reschedules:
        after k pokes a doubling wait has lasted interval * (2^k - 1))."""
        if not self.exponential_backoff or self.poke_interval <= 0:
            return self.poke_interval
        pokes = math.floor(math.log2(waited / self.poke_interval + 1))
        interval = self.poke_interval * 2.0 ** min(pokes, 60)
        return min(interval, self.max_wait) if self.max_wait is not None else interval

    def _time_out(self) -> None:
        message = f"the sensor timed out after {_seconds(self.timeout)} without its condition"
        if self.soft_fail:
            raise SkipTask(message)
        raise SensorTimeout(message)

    def log_line(self, text: str) -> None:
        print(f"[flowtui] {self.task_id}: {text}", flush=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _seconds(value: float) -> str:
    return f"{value:g} s" if value < 120 else f"{round(value / 60, 1):g} min"
