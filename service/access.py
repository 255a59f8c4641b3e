"""Who may call what: every route declares its rule here, and one hook enforces it.

Rules live on the views (``@access(...)``), and ``authorize`` runs before every request: it
identifies the caller, checks CSRF for cookie-authenticated changes, checks roles, and for
case-scoped routes checks need-to-know. A case the caller may not see is reported exactly like
one that does not exist (404), so that its existence does not leak. A test walks the URL map and
fails if any route lacks a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import g, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.auth import CurrentUser, load_current_user
from service.errors import ApiError
from tasks import inbox, parties
from workflows import roles

# The role names and lists live in workflows/roles.py; these names are kept for the views and
# tests that import them from here.
ROLES, RECORDS_ROLES, TASK_ROLES = roles.ROLES, roles.RECORDS_ROLES, roles.TASK_ROLES
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
csrf = CSRFProtect()


@dataclass(frozen=True)
class Rule:
    roles: tuple[str, ...] = ()  # empty: any signed-in user
    public: bool = False  # no sign-in needed (health checks, the login form)
    case_scoped: bool = False  # need-to-know on the instance, task or case named in the URL
    csrf_exempt: bool = False  # credentials in the body, no cookie used (token issue)
    # With no roles named: True lets the records roles in too (their own account, reminders);
    # False keeps the route for casework, so ``board`` and ``auditor`` alone get 403.
    anyone: bool = False
    # Admins pass every role check unless the route keeps its records from the people who run
    # the system (the register's rows, the audit events: docs/security.md).
    admin_passes: bool = True


class RedirectToLogin(Exception):
    """A page asked for by someone not signed in: send the browser to the login form."""


def access(
    *roles: str,
    public: bool = False,
    case_scoped: bool = False,
    csrf_exempt: bool = False,
    anyone: bool = False,
    admin_passes: bool = True,
) -> Callable[[Callable], Callable]:
    """Declare who may call a view (see :class:`Rule`); unknown role names fail at import."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(view: Callable) -> Callable:
        view.access_rule = Rule(
            tuple(roles), public, case_scoped, csrf_exempt, anyone, admin_passes
        )
        return view

    return mark


def authorize(rule: Rule | None, db: Session, now: datetime) -> CurrentUser | None:
    """Enforce ``rule`` for the current request; returns the caller (``None`` if anonymous)."""
    if rule is None:
        raise RuntimeError("route without an access rule")
    if rule.public:
        try:
            user = load_current_user(db, now)
        except ApiError:
            user = None  # a bad token does not stop anyone reading a public page
        except SQLAlchemyError:
            db.rollback()  # nor does a database that is down (health checks must answer)
            user = None
        _check_csrf(rule, user)
        return user
    user = load_current_user(db, now)
    if user is None:
        if not request.path.startswith("/api/") and request.method in SAFE_METHODS:
            raise RedirectToLogin()
        raise ApiError(401, "unauthorized", "Sign in first.")
    _check_csrf(rule, user)
    admin = user.is_admin and rule.admin_passes
    if rule.roles and not (user.roles & set(rule.roles)) and not admin:
        needed = " or ".join(rule.roles)
        raise ApiError(403, "forbidden", f"This needs the role {needed}.")
    if not rule.roles and not rule.anyone and records_only(user.roles):
        raise ApiError(403, "forbidden", "This is casework: it needs a casework role.")
    if rule.case_scoped:
        _check_case(db, user)
    return user


def records_only(roles: frozenset[str] | set[str]) -> bool:
    """True for someone who holds roles but only records roles (board, auditor)."""
    return bool(roles) and set(roles) <= RECORDS_ROLES


CASE_KEY_LENGTH = 200


def _check_csrf(rule: Rule, user: CurrentUser | None) -> None:
    if request.method in SAFE_METHODS or rule.csrf_exempt:
        return
    if user is not None and user.via == "token":
        return  # a bearer token is not sent by browsers on their own: no cross-site forgery
    csrf.protect()


def viewer(user: CurrentUser) -> parties.Viewer:
    return parties.Viewer(user.id, user.username, user.roles, user.agency)


def _check_case(db: Session, user: CurrentUser) -> None:
    """404 unless the caller may see the instance, task or case; remembers it for the audit
    trail. An instance or task needs need-to-know of that instance (tasks/parties.py); a
    child's case needs it of at least one of the child's instances."""
    args = request.view_args or {}
    who = viewer(user)
    instance_id = probed = found = None
    if "instance_id" in args:
        # One statement each: the row and the rule together; the row stays in the session
        # for the view, which does not read it again.
        instance_id, what = args["instance_id"], "process instance"
        probed = parties.check_instance(db, who, instance_id)
        key = parties.case_key(probed[0].business_key, instance_id) if probed else None
        seen = probed is not None and probed[1]
    elif "task_id" in args:
        what = "task"
        found = parties.check_task(db, who, args["task_id"])
        key = instance_id = None
        if found is not None:
            instance_id = found[1].id
            key = parties.case_key(found[1].business_key, instance_id)
        seen = found is not None and found[2]
        if key is not None and not seen and parties.may_see_withheld_task(db, who, args["task_id"]):
            # Advice without identity: the task, never its case. The audit trail (read by the
            # auditor alone) still records the case, so the record stays whole.
            seen = True
            g.task_only = True
        elif key is not None and not seen and inbox.may_act_on(db, who, args["task_id"]):
            seen = True  # an overdue item addressed to them: they may act on that task
    elif "business_key" in args:
        # No stored case has a longer key (the column holds 200), and the audit trail could
        # not record one.
        key, what = args["business_key"], "case"
        key = key if len(key) <= CASE_KEY_LENGTH else None
        seen = key is not None and parties.can_see_case(db, who, key)
    else:
        raise RuntimeError(f"case-scoped route {request.url_rule} names no instance, task or case")
    # The rows read stay referenced for the request: the session keeps rows only weakly, and
    # the command that follows finds them there instead of reading them again.
    g.case_rows = probed if "instance_id" in args else found if "task_id" in args else None
    if not seen:
        name = str(next(iter(args.values())))[:80]
        raise ApiError(404, "not_found", f"{what} {name} does not exist")
    g.case = (key, instance_id)


def login_redirect():
    return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
