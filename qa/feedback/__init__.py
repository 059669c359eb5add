"""Feedback from the readers of answers: votes kept in SQLite (store.py) and turned into
eval items for review (export.py). Used by the web API (qa/web/feedback.py) and the CLI
(`qa feedback export`, `qa eval --feedback`)."""
