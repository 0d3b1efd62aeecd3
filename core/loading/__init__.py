"""Loading: finding DAG files, importing each in a child process of its own with a time limit
(a broken file never stops the others), turning what it defines into plain-data specs,
recording specs and import errors in the store, and watching the folder for changes. The
children themselves are forked by `execution.local`."""
