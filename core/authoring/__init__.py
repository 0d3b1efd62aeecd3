"""Authoring: everything a DAG file imports (re-exported by `flowtui` itself): `DAG`, the
operators, TaskFlow (`@dag`, `@task`, `XComArg`), `Dataset`, `chain`, the task context and
`TaskInstance` (XCom), `Variable` and Jinja2 templating. `flowtui` also exports `TriggerRule`,
which lives in `flowtui.states` because the scheduler judges by it too. It describes pipelines
and runs inside an attempt's process; deciding when anything runs is `scheduling`'s job,
importing DAG files `loading`'s."""
