"""Every shipped diagram's path table, by process key (for checks that walk them all)."""

from __future__ import annotations

from tests.diagrams import (
    test_early_help_caf,
    test_escalation,
    test_information_sharing,
    test_referral,
)

TABLES = {
    "information_sharing": test_information_sharing.PATHS,
    "early_help_caf": test_early_help_caf.PATHS,
    "referral": test_referral.PATHS,
    "escalation": test_escalation.PATHS,
}
