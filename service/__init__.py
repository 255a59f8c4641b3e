"""The Flask front door: HTTP API, CLI and (later) pages. See ``service.app.create_app``."""
