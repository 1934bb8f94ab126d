"""The audit log's rules: what is recorded, by whom, and how long it is kept."""
