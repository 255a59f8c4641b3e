"""The casework layer: one module per use case, shared by the API, the pages, the CLI and the
timer scheduler (docs/design.md, "The casework layer")."""
