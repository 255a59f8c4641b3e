"""The sign-in throttle: failures counted per client address and name, and per address.

Why not per account: a counter on the account lets anyone lock its owner out with a few wrong
passwords, and answering 429 only for accounts that exist tells which names are real. Here a
failure is charged to two rows, neither of which depends on the name being real:

- the pair (address, name typed): a few free failures, then waits that double, then a lock of
  that pair only. The owner, from any other address, signs in as usual.
- the address alone: many more free failures (a shared office address has many people), then
  the same doubling waits, never longer than the pair's lock; it slows one address spraying
  many names.

A row's key is a SHA-256 of what it counts, so the table keeps no typed name. The policy and
its reasons against OWASP's guidance are in docs/security.md ("Signing in").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import LoginThrottle

# A row whose last failure is this old counts from zero again (a lock still runs its course):
# a typo this morning does not slow this afternoon's sign-in.
RESET_AFTER = timedelta(hours=1)
# Rows untouched this long are deleted, so that sprayed names do not pile up.
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failures allowed freely, then a doubling wait between attempts, then a lock (per pair);
    per address, more free failures and waits capped at the lock's length."""

    free_failures: int = 3
    first_wait: timedelta = timedelta(seconds=2)
    lock_after: int = 10
    lock_for: timedelta = timedelta(minutes=15)
    address_free_failures: int = 30

    def wait_after(self, failures: int, free: int) -> timedelta:
        """The wait after ``failures`` when ``free`` of them cost nothing."""
        if failures < free:
            return timedelta(0)
        doublings = min(failures - free, 30)  # past that the cap holds anyway
        return min(self.first_wait * (2**doublings), self.lock_for)

    @classmethod
    def from_config(cls, config: Any) -> ThrottlePolicy:
        return cls(
            free_failures=config["LOGIN_FREE_FAILURES"],
            first_wait=timedelta(seconds=config["LOGIN_FIRST_WAIT_SECONDS"]),
            lock_after=config["LOGIN_LOCK_AFTER"],
            lock_for=timedelta(minutes=config["LOGIN_LOCK_MINUTES"]),
            address_free_failures=config["LOGIN_ADDRESS_FREE_FAILURES"],
        )


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused before the password is looked at, and for how long."""

    code: str  # "slow_down" or "locked"
    wait: timedelta


def _key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass
class Throttle:
    """The two rows of one attempt.

    Not locked (``FOR UPDATE``) while the password is checked: an office's people behind one
    address would queue behind each other's argon2 hash. Failures are counted with atomic
    increments instead, so concurrent failures are never lost.
    """

    pair: LoginThrottle
    address: LoginThrottle
    policy: ThrottlePolicy

    @classmethod
    def of(
        cls, db: Session, address: str, username: str, policy: ThrottlePolicy, now: datetime
    ) -> Throttle:
        """The rows of ``address`` and of (``address``, ``username``), made if missing."""
        pair_key, address_key = _key("pair", address, username), _key("address", address)
        for key in (pair_key, address_key):
            _ensure(db, key, now)
        rows = {
            row.key: row
            for row in db.scalars(
                select(LoginThrottle).where(LoginThrottle.key.in_((pair_key, address_key)))
            )
        }
        return cls(rows[pair_key], rows[address_key], policy)

    def refusal(self, now: datetime) -> Refusal | None:
        """A reason to refuse now, without checking the password (the same for any name)."""
        pair, policy = self.pair, self.policy
        if pair.locked_until is not None and now < pair.locked_until:
            return Refusal("locked", pair.locked_until - now)
        if pair.locked_until is not None:  # the lock has run out: start afresh
            pair.locked_until, pair.failures = None, 0
        for row in (pair, self.address):
            if row.failures and now - row.last_failed_at > RESET_AFTER:
                row.failures = 0
        waits = [
            row.last_failed_at + policy.wait_after(row.failures, free) - now
            for row, free in (
                (pair, policy.free_failures),
                (self.address, policy.address_free_failures),
            )
            if row.failures
        ]
        longest = max(waits, default=timedelta(0))
        return Refusal("slow_down", longest) if longest > timedelta(0) else None

    def failed(self, db: Session, now: datetime) -> None:
        """Charge a failure to both rows; the pair locks at ``lock_after``."""
        db.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key.in_((self.pair.key, self.address.key)))
            .values(failures=LoginThrottle.failures + 1, last_failed_at=now)
            .execution_options(synchronize_session="fetch")
        )
        if self.pair.failures >= self.policy.lock_after:
            self.pair.locked_until = now + self.policy.lock_for

    def succeeded(self, db: Session) -> None:
        """The pair starts afresh. The address does not: signing in to one's own account between
        guesses must not wipe the count of guesses at others (OWASP's "reset" caveat)."""
        db.delete(self.pair)


def _ensure(db: Session, key: str, now: datetime) -> None:
    """Insert the row unless it exists, without failing when a concurrent attempt just did."""
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, last_failed_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def forget_old(db: Session, now: datetime) -> None:
    """Delete rows untouched for a day (an indexed delete, run with each attempt)."""
    db.execute(delete(LoginThrottle).where(LoginThrottle.last_failed_at < now - FORGET_AFTER))
