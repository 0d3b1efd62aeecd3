"""The Dask executor: attempts sent to a dask.distributed cluster as plain data (`executor`, on
the scheduler's side), each run on a worker as a process of its own (`worker` starts and stops
it, `attempt` is that process). DAG parsing and callbacks stay on the scheduler's machine."""
