"""Scheduling: the service loop (`service`) that owns every state change, the run state machine
(`run_book`, `attempts`, `trigger_rules`), carrying out commands (`apply`, `clients`), handing
attempts to an executor (`dispatch`, `outcomes`), timetables and the runs they create
(`timetables/`, `run_creation`, `dataset_triggers`), recovery after a crash, timers, foreground
runs (`foreground`, `backfill`) and the composition a home runs (`host`, `lock`). It works on
specs and the store only: it never imports a DAG file."""
