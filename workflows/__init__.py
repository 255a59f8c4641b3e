"""The engine layer on SpiffWorkflow: parse, validate, sandbox, deploy, run and persist instances.

Imports go down only (to ``storage``); nothing here knows about people, HTTP or schedules.
"""
