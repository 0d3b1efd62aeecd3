"""An attempt's own process on a Dask worker: `python -m flowtui.execution.dask.attempt
RESULT_FD STORE_FD DAGS_FOLDER`, its request as JSON on stdin. It runs the attempt as a fork
server's child does (`local.child.run_job`: ticket, log, outcome), in the session its starter
gave it, and writes the outcome to RESULT_FD. It reaches the store only through STORE_FD, a
socket to its starter (`store_proxy.RemoteStore`): it never opens the store's file."""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import NoReturn

from flowtui.execution import leftovers
from flowtui.execution.base import AttemptRequest
from flowtui.execution.dask.store_proxy import RemoteStore
from flowtui.execution.local.child import run_job, take_task_signals
from flowtui.execution.local.protocol import RunJob
from flowtui.loading import airflow_hook
from flowtui.loading.dag_file import add_dags_folder_to_path
from flowtui.store import access


def main(argv: list[str]) -> NoReturn:
    result_fd, store_fd, dags_folder = int(argv[1]), int(argv[2]), argv[3]
    request = AttemptRequest.from_json(json.load(sys.stdin))
    os.set_inheritable(store_fd, False)  # not bash's, nor what the task starts
    access.install(RemoteStore(socket.socket(fileno=store_fd)))
    take_task_signals()  # started with start_new_session: the session is made already
    add_dags_folder_to_path(dags_folder)
    airflow_hook.install()  # DAG files import `airflow` from flowtui, as under the fork server
    leftovers.load()
    run_job(RunJob.of(0, request), result_fd, None, prepared=True, keep=(store_fd,))


if __name__ == "__main__":
    main(sys.argv)
