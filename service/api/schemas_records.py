"""Request and response models of the information-sharing register (api.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from service.api.schemas import Model

Text = Annotated[str, Field(max_length=10_000)]


class Recipient(Model):
    agency: Annotated[str, Field(max_length=80)]
    person: Annotated[str, Field(max_length=200)] | None = None


class SharingQuery(Model):
    child: str | None = None
    from_: str | None = Field(None, alias="from", description="ISO 8601 with offset (decided_at)")
    to: str | None = Field(None, description="ISO 8601 with offset (decided_at, exclusive)")
    decision: Annotated[str, Field(pattern="^(share|not_share)$")] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,12}$")] | None = None


class SharingRecordOut(Model):
    id: int
    instance_id: str | None
    child: str | None
    decision: str
    with_consent: bool
    consent_status: str | None
    consent_override_reason: str | None
    lawful_basis: str | None
    purpose: str | None
    information_shared: str | None
    recipients: list[Recipient]
    method: str | None
    necessity_and_proportionality: str | None
    advice_sought_from: str | None
    views_of_child_or_family: str | None
    subject_informed: bool | None
    not_informed_reason: str | None
    reasons: str
    decided_by: str | None
    decided_at: str
    recorded_at: str
    corrects: int | None
    follows: int | None = Field(
        description="A linked entry: the id of the earlier entry of the same instance it adds to "
        "(e.g. whether the family was told, recorded after the decision)"
    )
    prev_hash: str | None = Field(
        description="The previous entry's hash in the register's chain; null until sealed"
    )
    hash: str | None = Field(
        description="Hash over the entry and prev_hash; null until the sealer chains the entry "
        "(within AUDIT_SEAL_SECONDS)"
    )


class SharingPage(Model):
    items: list[SharingRecordOut]
    next_cursor: str | None


class CorrectionIn(Model):
    """The corrected entry, complete: it replaces the old one in meaning, not in storage."""

    decision: Annotated[str, Field(max_length=20, description="share | not_share")]
    with_consent: bool
    reasons: Text
    consent_status: Annotated[str, Field(max_length=40)] | None = None
    consent_override_reason: Text | None = None
    lawful_basis: Text | None = None
    purpose: Text | None = None
    information_shared: Text | None = None
    recipients: list[Recipient] | None = None
    method: Annotated[str, Field(max_length=40)] | None = None
    necessity_and_proportionality: Text | None = None
    advice_sought_from: Annotated[str, Field(max_length=80)] | None = None
    views_of_child_or_family: Text | None = None
    subject_informed: bool | None = None
    not_informed_reason: Text | None = None
