"""The process owner's workbench over the API: a version downloaded as a file, the change note
kept with a version, and ``GET .../diff``: what changed, element by element, in words."""

from __future__ import annotations

from tests.support.helpers import THREE_STEPS, assert_error, deploy_xml

# Two real changes, as the modeller saves them: a due time and a form field's label.
TWO_CHANGES = THREE_STEPS.replace(b'camunda:dueDate="2WD"', b'camunda:dueDate="3WD"').replace(
    b'label="What is the concern?"', b'label="What worries you?"'
)
# A step added between review and act, one removed form field, a changed condition.
RESHAPED = (
    THREE_STEPS.replace(
        b'<camunda:formField id="severity" label="How severe (1-10)?" type="long" />', b""
    )
    .replace(b"approved == True", b"approved == True and severity > 2")
    .replace(b'name="Take the action"', b'name="Take the agreed action"')
)


def _deploy(client, content: bytes, note: str | None = None):
    url = "/api/process-definitions?filename=three_steps.bpmn"
    if note is not None:
        url += "&note=" + note
    response = client.post(url, data=content, headers={"Content-Type": "application/xml"})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def test_any_version_downloads_as_the_file_it_was_deployed_from(client):
    _deploy(client, THREE_STEPS)
    _deploy(client, TWO_CHANGES)
    for version, content in ((1, THREE_STEPS), (2, TWO_CHANGES)):
        response = client.get(f"/api/process-definitions/three_steps/versions/{version}/xml")
        assert response.status_code == 200
        assert response.data == content
        assert response.mimetype == "application/xml"
        assert response.headers["Content-Disposition"] == 'attachment; filename="three_steps.bpmn"'
    missing = client.get("/api/process-definitions/three_steps/versions/3/xml")
    assert_error(missing, 404, "not_found")


def test_the_change_note_is_kept_with_the_version_and_listed(client):
    _deploy(client, THREE_STEPS)
    deployed = _deploy(client, TWO_CHANGES, note="Reviews now get three working days")
    assert deployed["note"] == "Reviews now get three working days"
    assert deployed["source"] == "api"
    items = client.get("/api/process-definitions/three_steps/versions").get_json()["items"]
    assert [(d["version"], d["note"]) for d in items] == [
        (1, None),
        (2, "Reviews now get three working days"),
    ]


def test_a_note_too_long_is_422_naming_the_field_and_nothing_is_deployed(client):
    response = client.post(
        "/api/process-definitions?note=" + "x" * 2001,
        data=THREE_STEPS,
        headers={"Content-Type": "application/xml"},
    )
    assert_error(response, 422, "invalid_input")
    assert response.get_json()["error"]["details"][0]["field"] == "note"
    assert client.get("/api/process-definitions/three_steps/versions").status_code == 404


def test_the_diff_lists_two_changes_in_words_with_before_and_after(client):
    _deploy(client, THREE_STEPS)
    _deploy(client, TWO_CHANGES)
    response = client.get("/api/process-definitions/three_steps/diff?from=1&to=2")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["key"], body["from"], body["to"]) == ("three_steps", 1, 2)
    assert [(c["element_id"], c["what"], c["before"], c["after"]) for c in body["changes"]] == [
        ("describe", "form field", "What is the concern?", "What worries you?"),
        ("review", "due time", "2WD", "3WD"),
    ]
    assert [c["text"] for c in body["changes"]] == [
        'Form field "What worries you?" of step "Describe the concern", label: '
        '"What is the concern?" changed to "What worries you?"',
        'The due time of step "Review the concern": "2WD" changed to "3WD"',
    ]
    assert body["changes"][0]["field"] == "concern"
    default = client.get("/api/process-definitions/three_steps/diff").get_json()
    assert (default["from"], default["to"]) == (1, 2)


def test_the_diff_names_renamed_steps_removed_fields_and_changed_conditions(client):
    _deploy(client, THREE_STEPS)
    _deploy(client, RESHAPED)
    changes = client.get("/api/process-definitions/three_steps/diff").get_json()["changes"]
    texts = [c["text"] for c in changes]
    assert (
        'Form field "How severe (1-10)?" (severity) removed from step "Describe the concern"'
        in (texts)
    )
    assert 'Step "Take the action" renamed to "Take the agreed action"' in texts
    condition = next(c for c in changes if c["what"] == "condition")
    assert (condition["before"], condition["after"]) == (
        "approved == True",
        "approved == True and severity > 2",
    )
    assert condition["text"] == (
        'The condition of the flow "yes" from "Approved?" to "Take the agreed action": '
        '"approved == True" changed to "approved == True and severity > 2"'
    )
    backwards = client.get("/api/process-definitions/three_steps/diff?from=2&to=1").get_json()
    assert 'Form field "How severe (1-10)?" (severity) added to step "Describe the concern"' in [
        c["text"] for c in backwards["changes"]
    ]


def test_a_version_against_itself_has_no_change(client):
    _deploy(client, THREE_STEPS)
    body = client.get("/api/process-definitions/three_steps/diff").get_json()
    assert (body["from"], body["to"], body["changes"]) == (1, 1, [])


def test_bad_versions_in_a_diff_are_422_naming_the_field_or_404(client):
    _deploy(client, THREE_STEPS)
    for query, field in (("from=x", "from"), ("to=0", "to"), ("from=1&to=-2", "to")):
        response = client.get(f"/api/process-definitions/three_steps/diff?{query}")
        assert_error(response, 422, "invalid_input")
        assert response.get_json()["error"]["details"][0]["field"] == field
    assert_error(client.get("/api/process-definitions/three_steps/diff?to=9"), 404, "not_found")
    assert_error(client.get("/api/process-definitions/nothing/diff"), 404, "not_found")


def test_a_browser_deploy_through_deploy_xml_is_marked_as_made_in_the_service(client):
    assert deploy_xml(client).get_json()["source"] == "api"


def test_a_version_beyond_any_integer_is_not_found(client):
    _deploy(client, THREE_STEPS)
    response = client.get(f"/api/process-definitions/three_steps/versions/{2**48}/xml")
    assert_error(response, 404, "not_found")


def test_a_version_that_is_not_a_number_is_422_naming_it(client):
    _deploy(client, THREE_STEPS)
    response = client.get("/api/process-definitions/three_steps/versions/latest/xml")
    assert_error(response, 422, "invalid_input")
    assert response.get_json()["error"]["details"][0]["field"] == "version"
