"""sqlfluff stand-in for dbt's `target` context object (the profile's target)."""

schema = "customer_backfill"
dbname = "app"
