"""``aurelia eval``: the runner, the metrics and the report."""
