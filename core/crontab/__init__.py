"""`flowtui crontab import`: reading a crontab with cron's own rules (`reader`) and writing one
readable DAG file per entry (`writer`)."""
