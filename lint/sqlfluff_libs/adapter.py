"""sqlfluff stand-in for dbt's `adapter` context object."""


def quote(identifier: str) -> str:
    return '"' + str(identifier).replace('"', '""') + '"'
