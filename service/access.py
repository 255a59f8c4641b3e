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
from tasks import parties

ROLES = (
    "practitioner",
    "manager",
    "dsl",
    "csc",
    "csc_manager",
    "process_owner",
    "board",
    "admin",
)
# The roles a diagram may offer or give a user task to (lanes, camunda:candidateGroups and the
# holders of a default assignee): whoever does a step sees the case, so process owners,
# administrators, the board and auditors are never given casework by a diagram.
TASK_ROLES = frozenset({"practitioner", "manager", "dsl", "csc", "csc_manager"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
csrf = CSRFProtect()


@dataclass(frozen=True)
class Rule:
    roles: tuple[str, ...] = ()  # empty: any signed-in user
    public: bool = False  # no sign-in needed (health checks, the login form)
    case_scoped: bool = False  # need-to-know on the instance, task or case named in the URL
    csrf_exempt: bool = False  # credentials in the body, no cookie used (token issue)


class RedirectToLogin(Exception):
    """A page asked for by someone not signed in: send the browser to the login form."""


def access(
    *roles: str, public: bool = False, case_scoped: bool = False, csrf_exempt: bool = False
) -> Callable[[Callable], Callable]:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def mark(view: Callable) -> Callable:
        view.access_rule = Rule(tuple(roles), public, case_scoped, csrf_exempt)
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
    if rule.roles and not (user.roles & set(rule.roles)) and not user.is_admin:
        needed = " or ".join(rule.roles)
        raise ApiError(403, "forbidden", f"This needs the role {needed}.")
    if rule.case_scoped:
        _check_case(db, user)
    return user


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
    """404 unless the caller may see the case; remembers the case for the audit trail."""
    args = request.view_args or {}
    instance_id = None
    if "instance_id" in args:
        instance_id = args["instance_id"]
        key, what = parties.case_of_instance(db, instance_id), "process instance"
    elif "task_id" in args:
        found, what = parties.instance_of_task(db, args["task_id"]), "task"
        key, instance_id = found if found else (None, None)
    elif "business_key" in args:
        # No stored case has a longer key (the column holds 200), and the audit trail could
        # not record one.
        key, what = args["business_key"], "case"
        key = key if len(key) <= CASE_KEY_LENGTH else None
    else:
        raise RuntimeError(f"case-scoped route {request.url_rule} names no instance, task or case")
    if key is None or not parties.can_see_case(db, viewer(user), key):
        name = str(next(iter(args.values())))[:80]
        raise ApiError(404, "not_found", f"{what} {name} does not exist")
    g.case = (key, instance_id)


def login_redirect():
    return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
