"""W4 (1000 tasks): a flowtui DAG of 10 layers of 100 no-op Python tasks, where task
(k, i) depends on (k-1, i) and (k-1, (i+1) % 100); measures how cost grows with DAG size."""

from flowtui import DAG, PythonOperator

LAYERS = 10
WIDTH = 100


def noop() -> None:
    """Do nothing, so that only the orchestrator's own cost is measured."""


with DAG("w4_grid_1k", schedule=None, max_active_tasks=10_000) as dag:
    grid = [
        [PythonOperator(task_id=f"t{k:03d}_{i:03d}", python_callable=noop) for i in range(WIDTH)]
        for k in range(LAYERS)
    ]
    for k in range(1, LAYERS):
        for i in range(WIDTH):
            grid[k][i].set_upstream([grid[k - 1][i], grid[k - 1][(i + 1) % WIDTH]])
