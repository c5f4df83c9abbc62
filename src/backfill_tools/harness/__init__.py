"""The reliability harnesses: kill a run (`crash`), race two writers (`race`), let the app
write during a run (`traffic`), feed awkward identifiers (`hostile`); what they share is in
`trial` (datasets, dbt runs, checks of the data) and `watch` (a run seen from the database,
and killed at a chosen point)."""
