"""W0: a flowtui DAG with no tasks; measures start-up, loading and run bookkeeping alone."""

from flowtui import DAG

with DAG("w0_empty", schedule=None) as dag:
    pass
