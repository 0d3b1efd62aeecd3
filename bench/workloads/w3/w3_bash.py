"""W3: a flowtui DAG chaining 10 BashOperator tasks that run `true`."""

from flowtui import DAG, BashOperator, chain

with DAG("w3_bash", schedule=None) as dag:
    chain(*(BashOperator(task_id=f"b{i}", bash_command="true") for i in range(10)))
