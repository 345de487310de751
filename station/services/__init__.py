"""Domain services of the station: no Flask imports; one transaction per user action."""
