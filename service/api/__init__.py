"""One blueprint per resource of docs/api.md."""
