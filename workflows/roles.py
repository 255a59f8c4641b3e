"""The role names and every list of them the service decides access by, in one place.

A list written out twice drifts: the API's inbox and the inbox page once disagreed on who may
give more time. Views name these (``@access(*INBOX_ROLES)``); ``service.access`` refuses a rule
naming a role not in :data:`ROLES`. Kept at the bottom of the code (``workflows``) because the
engine's deploy rules need the casework roles too, and ``workflows`` may be imported by all.
"""

from __future__ import annotations

ROLES = (
    "practitioner",
    "manager",
    "dsl",
    "csc",
    "csc_manager",
    "process_owner",
    "board",
    "auditor",
    "admin",
)
# What each role is called on a page (plural: the people who hold it).
ROLE_LABELS = {
    "practitioner": "practitioners",
    "manager": "line managers",
    "dsl": "designated safeguarding leads",
    "csc": "children's social care",
    "csc_manager": "children's social care managers",
    "process_owner": "process owners",
    "board": "the Board",
    "auditor": "the data protection officer",
    "admin": "administrators",
}
# The casework roles: the only ones a user task may be offered to (lanes,
# camunda:candidateGroups and the holders of a default assignee). Whoever does a step sees the
# case, so process owners, administrators, the board and auditors are never given casework.
CASEWORK_ROLES = frozenset({"practitioner", "manager", "dsl", "csc", "csc_manager"})
TASK_ROLES = CASEWORK_ROLES
# The same, as ``@access`` arguments (starting a process, the consent register, the start page).
CASEWORK = ("practitioner", "manager", "dsl", "csc", "csc_manager")
# Roles that read records and nothing else: the Board (aggregate reports) and the partnership's
# data protection officer (the register and the audit trail). A person who holds only these
# reaches no case, task or worklist.
RECORDS_ROLES = frozenset({"board", "auditor"})
# Managers of casework: the team view, and giving a task to someone.
MANAGERS = ("manager", "csc_manager", "dsl")
# Who reads and closes inbox items: casework managers, and the board for its copies of stage-3
# escalation notices (no case data, no reassigning or extending).
CASEWORK_INBOX_ROLES = ("manager", "dsl", "csc_manager")
INBOX_ROLES = (*CASEWORK_INBOX_ROLES, "board")
# Who may give a task more time, or cancel an instance.
EXTEND_ROLES = ("manager", "csc_manager")
CANCEL_ROLES = ("manager", "csc_manager", "admin")
# The front door (children's social care and its managers) keeps the partnership's consent
# register: it may read and record any child's consents.
CONSENT_KEEPERS = frozenset({"csc", "csc_manager"})
# Who changes diagrams (deploy, the modeller).
PROCESS_OWNERS = ("process_owner", "admin")
# The sharing register: who reads it, who corrects an entry by adding one.
REGISTER_READERS = ("auditor", "manager", "dsl", "practitioner", "csc", "csc_manager")
REGISTER_CORRECTORS = ("admin", "dsl", "manager")
# The Board's report.
REPORT_READERS = ("board", "manager", "admin")
# Who can act on an overdue step (reassign it, or do it): the managing role of one of the step's
# roles, the first of MANAGING_ORDER that applies (tasks/reminders.py). A line manager without
# ``dsl`` cannot give a DSL's step to anyone, so a DSL-only step goes to the agency's DSLs (the
# lead, the deputies, a safeguarding manager who holds ``dsl``).
MANAGED_BY = {
    "practitioner": "manager",
    "manager": "manager",
    "dsl": "dsl",
    "csc": "csc_manager",
    "csc_manager": "csc_manager",
}
MANAGING_ORDER = ("csc_manager", "manager", "dsl")
# Agency-scoped roles see only their own agency's cases they are party to (tasks/parties.py).
AGENCY_SCOPED_ROLES = frozenset({"practitioner", "manager", "dsl"})
# The escalation's stages (tasks/disagreements.py): whose inbox each stage from 2 on reaches,
# and who is copied on a stage-3 notice. Stage 4 is children's social care's managers until the
# partnership confirms otherwise (docs/protocol.md).
ESCALATION_STAGE_ROLES = {2: "manager", 3: "dsl", 4: "csc_manager"}
NOTICE_ROLE = "board"
