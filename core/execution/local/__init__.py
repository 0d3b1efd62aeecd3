"""The local executor: a single-threaded fork server that forks one child per attempt or
DAG-file parse in about a millisecond (`server`, `child`), the JSON-lines protocol between it
and the scheduler's process (`protocol`), and the `LocalExecutor` that owns it (`executor`)."""
