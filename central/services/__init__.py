"""Domain services of the central node: no Flask; one transaction per action; views, tasks and CLI call these."""
