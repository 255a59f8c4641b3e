"""Deploying diagrams: versions, content hashes, no-op redeploys, nothing stored when invalid."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from storage.models import ProcessDefinition
from tests.conftest import fixture_bytes
from tests.workflows.helpers import deploy, start
from workflows import definitions
from workflows.errors import InvalidDefinition, NotFound
from workflows.instances import Engine


def _count(uow_factory) -> int:
    with uow_factory() as uow:
        return uow.session.scalar(select(func.count()).select_from(ProcessDefinition))


def test_deploy_stores_xml_hash_and_first_version(uow_factory):
    content = fixture_bytes("three_steps.bpmn")
    result = deploy(Engine(), uow_factory)
    assert result.created
    with uow_factory() as uow:
        stored = definitions.find(uow.session, "three_steps")
        assert stored.version == 1
        assert stored.name == "Three steps"
        assert stored.xml.encode() == content
        assert stored.content_hash == hashlib.sha256(content).hexdigest()
        assert stored.deployed_by == "olive"


def test_identical_content_is_a_no_op(uow_factory):
    engine = Engine()
    first = deploy(engine, uow_factory)
    again = deploy(engine, uow_factory)
    assert not again.created
    assert again.definition.id == first.definition.id
    assert _count(uow_factory) == 1


def test_changed_content_is_a_new_version_and_every_version_stays_runnable(uow_factory):
    engine = Engine()
    deploy(engine, uow_factory)
    changed = fixture_bytes("three_steps.bpmn").replace(
        b'name="Review the concern"', b'name="Review the concern with the DSL"'
    )
    second = deploy(engine, uow_factory, content=changed)
    assert second.created and second.definition.version == 2

    newest = start(engine, uow_factory, business_key="child-1")
    oldest = start(engine, uow_factory, business_key="child-2", version=1)
    with uow_factory() as uow:
        assert definitions.find(uow.session, "three_steps").version == 2
        versions = [d.version for d in definitions.list_versions(uow.session, "three_steps")]
    assert versions == [1, 2]
    assert newest.instance.definition_id == second.definition.id
    assert oldest.instance.definition_id != second.definition.id
    assert [t.element_id for t in oldest.opened] == ["describe"]


def test_invalid_diagram_is_refused_and_nothing_is_stored(uow_factory):
    broken = fixture_bytes("three_steps.bpmn").replace(b'targetRef="end_done"', b'targetRef="gone"')
    with pytest.raises(InvalidDefinition) as caught:
        deploy(Engine(), uow_factory, content=broken)
    assert [p.element_id for p in caught.value.problems] == ["f5"]
    assert _count(uow_factory) == 0


def test_a_second_file_deploys_under_its_own_key(uow_factory):
    engine = Engine()
    deploy(engine, uow_factory)
    deploy(engine, uow_factory, name="wait_for_message.bpmn")
    with uow_factory() as uow:
        keys = [d.key for d in definitions.list_latest(uow.session)]
    assert keys == ["three_steps", "wait_for_message"]


def test_unknown_key_or_version_is_not_found(uow_factory):
    engine = Engine()
    deploy(engine, uow_factory)
    with pytest.raises(NotFound, match="not deployed"):
        start(engine, uow_factory, key="no_such_process")
    with pytest.raises(NotFound, match="version 9"):
        start(engine, uow_factory, version=9)
