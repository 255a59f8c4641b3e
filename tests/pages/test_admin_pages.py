"""``/admin/users`` and ``/admin/agencies`` through the Flask test client, as an administrator
at a browser would use them, and as others trying them would (issue 19, point 4).

Reset links (``/reset/<token>``) are in ``test_reset_pages.py``; the Playwright walk through the
same pages is ``tests/browser/test_admin_pages.py``.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from records.vocabulary import AGENCIES as REPORTED
from service.context import services
from storage import UnitOfWork
from storage.administration import SEED, Agency
from storage.models import AuditEvent, User
from tests.support.pages import assert_clean, csrf_of, sign_in
from workflows.roles import ROLES
from workflows.rules import AGENCIES

PEOPLE = {
    "ada": {"roles": ["admin"], "agency": "partnership"},
    "maya": {"roles": ["manager"], "agency": "school"},
    "pat": {"roles": ["practitioner"], "agency": "school", "manager": "maya"},
    "hal": {"roles": ["manager"], "agency": "health"},
}


@pytest.fixture
def app(page_app):
    return page_app(PEOPLE)


@pytest.fixture
def admin(app):
    return sign_in(app, "ada")


def changes(app, action: str) -> list[dict]:
    """The details of the audit events of ``action``, oldest first."""
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.at)
        return [event.detail for event in unit.session.scalars(query)]


def person(app, username: str) -> User | None:
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        found = unit.session.scalar(select(User).where(User.username == username))
        if found is not None:
            unit.session.expunge(found)
        return found


def post(client, form_path: str, action: str, data: dict):
    """Submit the form drawn at ``form_path`` to ``action`` (its CSRF token, as a browser)."""
    page = client.get(form_path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(action, data={"csrf_token": csrf_of(page), **data})


def new_user(**fields) -> dict:
    return {
        "username": "sam",
        "display_name": "Sam Green",
        "roles": ["practitioner"],
        "agency": "school",
        "manager": "maya",
        "email": "sam@school.example",
        **fields,
    }


def signed_out(client) -> bool:
    answer = client.get("/account/sessions")
    return answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_the_registry_holds_the_agencies_diagrams_and_the_register_use(app, admin):
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        codes = set(unit.session.scalars(select(Agency.code)))
    assert codes == {code for code, _ in SEED}
    assert set(AGENCIES) == set(REPORTED) <= codes
    page = admin.get("/admin/agencies")
    assert_clean(page)
    for code in codes:
        assert f"<code>{code}</code>" in page.get_data(as_text=True)


def test_an_admin_adds_a_user_with_roles_agency_and_manager_from_the_lists(app, admin):
    form = admin.get("/admin/users/new")
    assert_clean(form)
    html = form.get_data(as_text=True)
    assert re.findall(r'name="roles" value="([a-z_]+)"', html) == list(ROLES)
    offered = re.findall(r'<option value="([a-z_]+)"', html.split('id="manager"')[0])
    assert set(offered) == {code for code, _ in SEED}
    # Managers are grouped by agency (admin.js shows only the chosen agency's group).
    assert re.search(r'data-agency="health">\s*<option value="hal"', html)
    answer = post(admin, "/admin/users/new", "/admin/users", new_user())
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert answer.headers["Location"].endswith("/admin/users/sam")
    sam = person(app, "sam")
    assert (sam.agency, sam.roles, sam.email, sam.password_hash) == (
        "school",
        ["practitioner"],
        "sam@school.example",
        None,
    )
    listed = admin.get("/admin/users").get_data(as_text=True)
    assert 'data-username="sam"' in listed and "Sam Green" in listed
    [detail] = changes(app, "admin_users.create")
    assert detail["before"] is None
    assert detail["after"]["manager"] == "maya" and detail["after"]["agency"] == "school"


@pytest.mark.parametrize(
    ("typed", "field", "said"),
    [
        ({"agency": "schoool"}, "agency", "unknown agency 'schoool'; the agencies are: "),
        ({"roles": ["chief"]}, "roles", "unknown role(s): chief; the roles are: practitioner"),
        ({"roles": []}, "roles", "choose at least one role"),
        ({"manager": "hal"}, "manager", "hal is not of the agency school"),
        ({"manager": "nobody"}, "manager", "no active user called 'nobody'"),
        ({"email": "sam at school"}, "email", "is not an email address"),
        ({"username": "sam green"}, "username", "a username is 1 to 80 letters"),
        ({"username": "pat"}, "username", "a user called 'pat' already exists"),
    ],
)
def test_what_is_not_in_the_lists_is_422_naming_the_field(app, admin, typed, field, said):
    answer = post(admin, "/admin/users/new", "/admin/users", new_user(**typed))
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert f'id="error-{field}"' in html
    assert said in html.replace("&#39;", "'")
    if field == "agency":
        assert "childrens_social_care, early_help, health, other, partnership" in html
    assert person(app, "sam") is None
    assert changes(app, "admin_users.create") == []


def test_new_roles_end_their_sessions_and_the_change_is_audited_before_and_after(app, admin):
    pat = sign_in(app, "pat")
    edit = {
        "display_name": "Pat Jones",
        "roles": ["dsl"],
        "agency": "school",
        "manager": "",
        "email": "",
    }
    answer = post(admin, "/admin/users/pat", "/admin/users/pat", {**edit, "seen": _seen(admin)})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert signed_out(pat)
    [detail] = changes(app, "admin_users.update")
    assert detail["before"]["roles"] == ["practitioner"] and detail["after"]["roles"] == ["dsl"]
    assert detail["before"]["manager"] == "maya" and detail["after"]["manager"] is None
    assert "password" not in str(detail)
    assert sign_in(app, "pat").get("/account/sessions").status_code == 200


def _seen(client, username: str = "pat") -> str:
    html = client.get(f"/admin/users/{username}").get_data(as_text=True)
    return re.search(r'name="seen" value="([0-9a-f]+)"', html).group(1)


def test_an_edit_drawn_before_someone_elses_is_409_not_an_overwrite(app, admin):
    stale = _seen(admin)
    edit = {"display_name": "Pat", "roles": ["practitioner"], "agency": "school", "manager": "maya"}
    first = post(admin, "/admin/users/pat", "/admin/users/pat", {**edit, "seen": stale})
    assert first.status_code == 302
    second = post(
        admin, "/admin/users/pat", "/admin/users/pat", {**edit, "display_name": "P", "seen": stale}
    )
    assert second.status_code == 409
    assert person(app, "pat").display_name == "Pat"


def test_disabling_signs_them_out_and_keeps_them_out_until_enabled(app, admin):
    pat = sign_in(app, "pat")
    answer = post(admin, "/admin/users/pat", "/admin/users/pat/disable", {})
    assert answer.status_code == 302
    assert signed_out(pat)
    assert "Disabled pat: 1 sessions and tokens" in admin.get("/admin/users/pat").get_data(
        as_text=True
    )
    refused = app.test_client()
    form = refused.get("/login")
    tried = refused.post(
        "/login",
        data={"username": "pat", "password": "correct-horse-battery", "csrf_token": csrf_of(form)},
    )
    assert tried.status_code == 401
    [detail] = changes(app, "admin_users.disable")
    assert (detail["before"]["active"], detail["after"]["active"]) == (True, False)
    assert post(admin, "/admin/users/pat", "/admin/users/pat/enable", {}).status_code == 302
    assert sign_in(app, "pat").get("/account/sessions").status_code == 200


def test_an_admin_cannot_lock_themselves_out(app, admin):
    assert post(admin, "/admin/users/ada", "/admin/users/ada/disable", {}).status_code == 422
    edit = {"display_name": "Ada", "roles": ["auditor"], "agency": "partnership"}
    answer = post(
        admin, "/admin/users/ada", "/admin/users/ada", {**edit, "seen": _seen(admin, "ada")}
    )
    assert answer.status_code == 422
    assert "you cannot take the admin role from yourself" in answer.get_data(as_text=True)
    assert person(app, "ada").roles == ["admin"] and person(app, "ada").active


ADMIN_ROUTES = [
    ("GET", "/admin/users"),
    ("GET", "/admin/users/new"),
    ("POST", "/admin/users"),
    ("GET", "/admin/users/pat"),
    ("POST", "/admin/users/pat"),
    ("POST", "/admin/users/pat/disable"),
    ("POST", "/admin/users/pat/reset-link"),
    ("GET", "/admin/agencies"),
    ("POST", "/admin/agencies"),
    ("POST", "/admin/agencies/school"),
]


def test_only_administrators_reach_the_administration_pages(app):
    maya = sign_in(app, "maya")
    csrf = csrf_of(maya.get("/account/sessions"))
    for method, path in ADMIN_ROUTES:
        data = {"csrf_token": csrf, "roles": ["admin"], "agency": "school", "active": "false"}
        answer = maya.open(path, method=method, data=data)
        assert answer.status_code == 403, (method, path)
        anonymous = app.test_client().open(path, method=method)
        assert anonymous.status_code in (302, 400, 401), (method, path)
    assert person(app, "maya").roles == ["manager"]
    assert "Users</a>" not in maya.get("/account/sessions").get_data(as_text=True)


def test_the_registry_grows_and_retires_and_the_user_form_follows_it(app, admin):
    added = post(
        admin,
        "/admin/agencies",
        "/admin/agencies",
        {"code": "youth_justice", "label": "Youth justice service"},
    )
    assert added.status_code == 302
    assert 'value="youth_justice"' in admin.get("/admin/users/new").get_data(as_text=True)
    renamed = post(
        admin, "/admin/agencies", "/admin/agencies/youth_justice", {"label": "Youth justice"}
    )
    assert renamed.status_code == 302
    retired = post(admin, "/admin/agencies", "/admin/agencies/youth_justice", {"active": "false"})
    assert retired.status_code == 302
    assert 'value="youth_justice"' not in admin.get("/admin/users/new").get_data(as_text=True)
    refused = post(
        admin, "/admin/users/new", "/admin/users", new_user(agency="youth_justice", manager="")
    )
    assert refused.status_code == 422
    assert [d["after"] for d in changes(app, "admin_agencies.update")] == [
        {"code": "youth_justice", "label": "Youth justice", "active": True},
        {"code": "youth_justice", "label": "Youth justice", "active": False},
    ]
    [created] = changes(app, "admin_agencies.create")
    assert created["before"] is None and created["after"]["label"] == "Youth justice service"


@pytest.mark.parametrize(
    ("form", "field", "said"),
    [
        ({"code": "Schoool!", "label": "x"}, "code", "lower-case letters"),
        ({"code": "school", "label": "School again"}, "code", "already an agency"),
        ({"code": "ok_code", "label": "  "}, "label", "the name must be"),
    ],
)
def test_a_bad_agency_is_422_naming_the_field(app, admin, form, field, said):
    answer = post(admin, "/admin/agencies", "/admin/agencies", form)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert f'id="error-{field}"' in html and said in html


def test_agencies_the_diagrams_name_cannot_be_retired(app, admin):
    answer = post(admin, "/admin/agencies", "/admin/agencies/police", {"active": "false"})
    assert answer.status_code == 422
    assert "police is named by the diagrams" in answer.get_data(as_text=True)
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        assert unit.session.get(Agency, "police").active
    assert admin.post("/admin/agencies/nope", data={"csrf_token": "x"}).status_code in (400, 404)
