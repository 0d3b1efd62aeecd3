SELECT {{ params.n }} FROM t WHERE ds = '{{ ds }}'
