"""The command line: `main` builds the parser from one module per command group (`dags`,
`runs`, `tasks`, `logs`, `variables`, `crontab`, `scheduler`, `dashboard`) and turns every
error a user can cause into one line. It composes the engine; it holds no engine logic."""
