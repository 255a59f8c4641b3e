"""The "share with consent" path of ``information_sharing``: the task answers, in order.

Shared by the API benchmark and its bare-SpiffWorkflow comparison, so both walk the same path.
"""

from __future__ import annotations

ANSWERS: list[tuple[str, dict]] = [
    (
        "describe_request",
        {
            "information": "Attendance record for the autumn term",
            "recipient_agency": "health",
            "recipient_person": "School nurse",
            "purpose": "Support a health assessment",
            "urgent": False,
            "legitimate_purpose": "yes",
            "identifies_living_person": True,
            "confidential": True,
        },
    ),
    (
        "safeguarding_check",
        {
            "significant_harm": False,
            "prevent_serious_crime": False,
            "cse_concern": False,
            "child_age": 14,
            "sexual_activity": False,
            "consent_unsafe": False,
            "in_doubt": False,
        },
    ),
    ("seek_consent", {"consent_outcome": "given", "views_of_child_or_family": "Happy to share"}),
    (
        "share_information",
        {
            "information_shared": "Attendance record",
            "method": "secure_email",
            "necessary_and_proportionate": True,
        },
    ),
    ("inform_family", {"subject_informed": True}),
]
