"""Human work: routing, forms, the working-day calendar, timers, reminders and escalation.

Sits between ``service`` (above) and ``workflows`` (below). Built in the human-tasks issue.
"""
