"""sqlfluff stand-in for dbt's `exceptions`: linting renders, it never stops."""


def raise_compiler_error(message: str) -> str:
    return ""
