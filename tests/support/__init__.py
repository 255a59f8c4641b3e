"""What many tests share: clients and people, served processes, an SMTP sink, waiting, pages."""
