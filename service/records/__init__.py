"""The records the protocol promises: audit trail (and, later, the registers)."""
