"""The records the protocol promises, kept without Flask: the audit chain, the sharing and
consent registers, the Board's reports and the retention purge.

Sits between ``service`` and ``tasks`` in the layers: it may import ``tasks``, ``workflows`` and
``storage``; only ``service`` imports it (``tests/test_import_graph.py`` holds both to it). The
request's side of the audit trail, which needs the signed-in person, is ``service/trail.py``.
"""
