"""sqlfluff stand-in for dbt's `run_started_at` datetime."""


def isoformat() -> str:
    return "2026-01-01T00:00:00+00:00"
