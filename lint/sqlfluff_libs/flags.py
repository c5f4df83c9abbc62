"""sqlfluff stand-in for dbt's `flags` context object: the fixtures render the SQL of
the write paths as a run-operation sends it."""

WHICH = "run-operation"
FULL_REFRESH = False
