"""Server-rendered pages (Jinja), one blueprint per page group."""
