"""One blueprint per resource of ../shared/api.md."""
