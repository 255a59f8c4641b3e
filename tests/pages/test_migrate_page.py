"""/modeller/<key>/migrate: a process owner plans moving running cases and moves them."""

from __future__ import annotations

import re

from tests.support.helpers import (
    admin_client,
    complete_task,
    deploy_xml,
    open_task_id,
    start_instance,
)
from tests.support.pages import assert_clean, csrf_of, sign_in
from tests.workflows.helpers import THREE_STEPS_PATH, without_describe

PAGE = "/modeller/three_steps/migrate"
CHILD = "child-9902"


def _owner_and_cases(page_app) -> tuple:
    """Olive (process owner); two cases of version 1, one at "describe" and one at "review";
    version 2 drops "describe"."""
    app = page_app({"olive": {"roles": ["process_owner"], "agency": "partnership"}})
    admin = admin_client(app)
    ids = [start_instance(admin, business_key=CHILD).get_json()["id"] for _ in range(2)]
    complete_task(app, open_task_id(app, ids[1], "describe"), THREE_STEPS_PATH[0][1])
    assert deploy_xml(admin, without_describe()).status_code == 201
    return app, sign_in(app, "olive"), admin, ids


def _rows(html: str, attribute: str) -> dict[str, str]:
    pattern = rf'data-instance="([^"]+)" {attribute}="([^"]+)"'
    return dict(re.findall(pattern, html))


def _version(admin, instance_id: str) -> int:
    return admin.get(f"/api/process-instances/{instance_id}").get_json()["definition_version"]


def test_the_plan_shows_who_can_move_and_offers_a_place_for_the_dropped_step(page_app):
    app, olive, admin, (at_describe, at_review) = _owner_and_cases(page_app)
    page = olive.get(PAGE)
    assert page.status_code == 200
    assert_clean(page)
    html = page.get_data(as_text=True)
    assert _rows(html, "data-can-move") == {at_describe: "no", at_review: "yes"}
    assert "1 of 2 running cases can move." in html
    assert 'name="map.describe"' in html and "version 2 has no describe" in html
    assert CHILD not in html
    assert {_version(admin, i) for i in (at_describe, at_review)} == {1}  # a plan changes nothing
    mapped = olive.get(PAGE, query_string={"from": 1, "to": 2, "map.describe": "review"})
    assert _rows(mapped.get_data(as_text=True), "data-can-move") == {
        at_describe: "yes",
        at_review: "yes",
    }


def test_moving_applies_the_plan_and_says_what_happened_to_each_case(page_app):
    app, olive, admin, (at_describe, at_review) = _owner_and_cases(page_app)
    plan = olive.get(PAGE)
    answer = olive.post(PAGE, data={"from": 1, "to": 2, "csrf_token": csrf_of(plan)})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert _rows(html, "data-outcome") == {at_describe: "stays", at_review: "moved"}
    assert "1 moved, 1 stays, 0 changed meanwhile" in html and CHILD not in html
    assert [_version(admin, i) for i in (at_describe, at_review)] == [1, 2]


def test_a_mapping_to_a_step_the_target_lacks_is_refused_naming_it(page_app):
    _, olive, _, _ = _owner_and_cases(page_app)
    answer = olive.get(PAGE, query_string={"from": 1, "to": 2, "map.describe": "nowhere"})
    assert answer.status_code == 422
    assert "mapping.describe" in answer.get_data(as_text=True)
    refused = olive.post(PAGE, data={"from": 1, "to": 2})
    assert refused.status_code == 400  # no CSRF token: the form was not ours
