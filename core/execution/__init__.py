"""Execution: the executor contract (`base`: a plain-data request in, started/exited events
out), what runs inside an attempt's process (`task_runner`: context, templates, `execute`,
outcome; masking of secrets in its output), and the local fork-server executor (`local`).
Which attempts run, when, and what their outcomes mean is `scheduling`'s."""
