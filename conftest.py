"""Repository-wide pytest settings."""

# The plugin template's files are Jinja templates, not importable Python.
collect_ignore_glob = ["plugin-template/*"]
