"""sqlfluff stand-in for dbt's `dbt` namespace of cross-database macros."""


def string_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def escape_single_quotes(value: object) -> str:
    return str(value).replace("'", "''")
