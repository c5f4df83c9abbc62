"""The reliability harnesses: kill a run (`crash`), race two writers (`race`), let the app
write during a run (`traffic`), feed awkward identifiers (`hostile`); what they share is in
`trial`."""
