"""The ``camunda:property`` names the service reads, and where.

A property nobody reads looks like a rule to whoever edits the diagram and does nothing (a
diagram once said ``due_when_not_urgent="2WD"`` while the task fell due the same day whatever
the answers). Every property in a shipped diagram must be one of these
(``tests/diagrams/test_properties.py``); a task property whose name starts with ``due`` and is
not read is refused at deploy (``workflows.bounds.check_due_times``). Add a name here in the
same change that makes the service read it.
"""

from __future__ import annotations

# <camunda:property name="..."> on a user task (task_spec.extensions).
TASK_PROPERTIES = frozenset(
    {
        "due_from",  # tasks/due.py: the step the due time is counted from
        "withhold_identity_when",  # anonymous advice: when the adviser sees no identity
        "shows",  # anonymous advice: the variables the adviser sees then
        "other_agency_from",  # tasks/assignment.second_agency (bounded in workflows/grants.py)
    }
)
# <camunda:property name="..."> on a bpmn:message (workflows/parsing.py, tasks/inputs.py).
MESSAGE_PROPERTIES = frozenset({"external"})
# <camunda:property id="..."> on a form field (tasks/forms.py).
FIELD_PROPERTIES = frozenset(
    {
        "help",  # the hint shown under the field
        "refused_message",  # why a refused_if answer is refused
        "visibility",  # "step": seen only by the parties of the steps whose forms carry it
    }
)
READ_PROPERTIES = TASK_PROPERTIES | MESSAGE_PROPERTIES | FIELD_PROPERTIES
