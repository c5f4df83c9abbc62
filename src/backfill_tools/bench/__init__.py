"""`backfill-dev bench`: the project timed against the per-row script and the SQL floor
(`runner`), how it measures (`measure`, `nodes`), the baselines (`baselines`, `sql/`) and
the report it writes (`report`)."""
