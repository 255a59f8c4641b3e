"""The sandbox diagram scripts and conditions run in: refused escapes, allowed helpers.

The runtime tests parse diagrams with ``SafeguardParser`` directly, *without* validation, to show
that the script engine holds on its own even if a diagram reached it unchecked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from tasks.calendar import add_working_days, script_helpers
from workflows.clock import FrozenClock
from workflows.parsing import SafeguardParser
from workflows.sandbox import (
    SAFE_BUILTINS,
    SandboxEnvironment,
    SandboxViolation,
    check_source,
    make_script_engine,
)
from workflows.validation import validate

FRIDAY_MORNING = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)

# start -> work (script) -> decide (gateway): condition -> end_yes, otherwise -> end_no
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="defs" targetNamespace="http://safeguard-flow/test">
  <bpmn:process id="sandboxed" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="work" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="decide" default="f_no">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_yes</bpmn:outgoing>
      <bpmn:outgoing>f_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_yes"><bpmn:incoming>f_yes</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_no"><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="decide" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="decide" targetRef="end_yes">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        {condition}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="decide" targetRef="end_no" />
  </bpmn:process>
</bpmn:definitions>
"""


def workflow(
    script: str = "done = True",
    condition: str = "False",
    data: dict | None = None,
    clock: FrozenClock | None = None,
    helpers: dict | None = None,
) -> BpmnWorkflow:
    """A ready-to-run instance of DIAGRAM, parsed without validation, on the sandboxed engine."""
    content = DIAGRAM.format(script=escape(script), condition=escape(condition))
    parser = SafeguardParser()
    parser.add_bpmn_str(content.encode("utf-8"), filename="sandboxed.bpmn")
    engine = make_script_engine(clock=clock, helpers=helpers)
    wf = BpmnWorkflow(parser.get_spec("sandboxed"), {}, script_engine=engine)
    if data:
        (root,) = wf.get_tasks(state=TaskState.READY)
        root.set_data(**data)
    return wf


def failure(wf: BpmnWorkflow) -> WorkflowTaskException:
    with pytest.raises(WorkflowTaskException) as caught:
        wf.do_engine_steps()
    assert not wf.is_completed()
    return caught.value


def finished_at(wf: BpmnWorkflow) -> tuple[str, dict]:
    """Run to the end; return the end event reached and the data it holds."""
    wf.do_engine_steps()
    assert wf.is_completed()
    (end,) = [
        t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name.startswith("end_")
    ]
    return end.task_spec.name, end.data


def env(clock: FrozenClock | None = None) -> SandboxEnvironment:
    environment = make_script_engine(clock=clock).environment
    assert isinstance(environment, SandboxEnvironment)
    return environment


# --- check_source: what is refused before anything is compiled ---------------------------------

REFUSED = [
    pytest.param("import os", "imports", 1, id="import"),
    pytest.param("from os import path", "imports", 1, id="from-import"),
    pytest.param("x = 1\ny = __import__('os')", "'__import__'", 2, id="dunder-import"),
    pytest.param("x = ().__class__", "'__class__'", 1, id="dunder-attribute"),
    pytest.param("x = ().__class__.__bases__", "'__bases__'", 1, id="class-bases"),
    pytest.param("x = len.__self__", "'__self__'", 1, id="builtin-self"),
    pytest.param("x = __builtins__", "'__builtins__'", 1, id="builtins-name"),
    pytest.param("_secret = 1", "'_secret'", 1, id="underscore-name"),
    pytest.param("x = '{0.__class__}'.format(1)", "'format'", 1, id="str-format"),
    pytest.param("x = '{a}'.format_map({'a': 1})", "'format_map'", 1, id="str-format-map"),
    pytest.param("x = f'{().__class__}'", "'__class__'", 1, id="f-string-attribute"),
    pytest.param("g = (i for i in [1])\nx = g.gi_frame", "'gi_frame'", 2, id="gi-frame"),
    pytest.param(
        "g = (i for i in [1])\nx = g.gi_frame.f_globals", "'f_globals'", 2, id="frame-globals"
    ),
    pytest.param("x = str.mro()", "'mro'", 1, id="mro"),
    pytest.param("def f():\n    pass", "defining functions", 1, id="def"),
    pytest.param("async def f():\n    pass", "defining functions", 1, id="async-def"),
    pytest.param("class A:\n    pass", "defining functions or classes", 1, id="class"),
    pytest.param("global x\nx = 1", "global", 1, id="global"),
    pytest.param(
        "match ():\n    case tuple(__class__=c):\n        x = c",
        "'__class__'",
        2,
        id="match-dunder",
    ),
    pytest.param(
        "match '{0.__class__}':\n    case str(format=f):\n        x = f(1)",
        "'format'",
        2,
        id="match-format",
    ),
    pytest.param(
        "match {}:\n    case {**__builtins__}:\n        pass", "'__builtins__'", 2, id="match-rest"
    ),
    pytest.param(
        "match []:\n    case [*__builtins__]:\n        pass", "'__builtins__'", 2, id="match-star"
    ),
    pytest.param(
        "match 1:\n    case __builtins__:\n        pass", "'__builtins__'", 2, id="match-capture"
    ),
    pytest.param(
        "try:\n    x = 1 / 0\nexcept Exception as __builtins__:\n    pass",
        "'__builtins__'",
        3,
        id="except-as-builtins",
    ),
]


@pytest.mark.parametrize(("source", "words", "line"), REFUSED)
def test_check_source_refuses_escapes_and_says_what_and_where(source, words, line):
    with pytest.raises(SandboxViolation) as caught:
        check_source(source, "exec")

    assert words in str(caught.value)
    assert caught.value.line == line


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("x = len(sorted([3, 1, 2]))", id="builtins"),
        pytest.param("double = lambda v: v * 2\ny = double(2)", id="lambda"),
        pytest.param("y = [v * 2 for v in range(3) if v]", id="comprehension"),
        pytest.param("try:\n    y = 1 / 0\nexcept Exception as err:\n    y = str(err)", id="try"),
        pytest.param(
            "match 3:\n    case int(real=r):\n        y = r\n    case _:\n        y = 0", id="match"
        ),
        pytest.param("y = f'{1 + 1} items'", id="f-string"),
        pytest.param("y = now() + timedelta(days=1)", id="dates"),
    ],
)
def test_check_source_allows_ordinary_data_handling(source):
    check_source(source, "exec")


def test_check_source_reports_syntax_errors_as_such():
    with pytest.raises(SyntaxError):
        check_source("x = (1", "exec")
    with pytest.raises(SyntaxError):
        check_source("x = 1", "eval")  # a condition is an expression, not a statement


def test_dangerous_builtins_are_not_in_the_allow_list():
    dangerous = {
        "__import__",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "eval",
        "exec",
        "compile",
        "globals",
        "locals",
        "vars",
        "dir",
        "type",
        "object",
        "input",
        "breakpoint",
        "help",
        "memoryview",
        "super",
        "classmethod",
        "staticmethod",
        "property",
    }
    assert dangerous.isdisjoint(SAFE_BUILTINS)


# --- the environment: allow-list only, whatever the task data says ------------------------------


@pytest.mark.parametrize("name", ["getattr", "open", "type", "eval"])
def test_names_outside_the_allow_list_do_not_exist(name):
    with pytest.raises(NameError, match=name):
        env().evaluate(name, {})


def test_allowed_builtins_and_date_helpers_work_with_an_injected_clock():
    clock = FrozenClock(FRIDAY_MORNING)
    environment = env(clock)
    data = {"scores": [7, 2, 9]}

    assert environment.evaluate("len(scores)", data) == 3
    assert environment.evaluate("sorted(scores)", data) == [2, 7, 9]
    assert environment.evaluate("min(scores)", data) == 2
    assert environment.evaluate("now()", {}) == FRIDAY_MORNING
    assert environment.evaluate("now() + timedelta(days=3)", {}) == datetime(
        2024, 3, 4, 9, 30, tzinfo=UTC
    )
    assert environment.evaluate("datetime(2024, 1, 1, tzinfo=timezone.utc).year", {}) == 2024

    clock.advance(timedelta(hours=1))
    assert environment.evaluate("now().hour", {}) == 10


def test_a_builtins_variable_in_task_data_does_not_replace_the_allow_list_in_conditions():
    hostile = {"items": [1, 2], "__builtins__": {"open": open, "getattr": getattr}}

    assert env().evaluate("len(items)", hostile) == 2
    with pytest.raises(NameError, match="open"):
        env().evaluate("open", hostile)


def test_a_builtins_variable_in_task_data_does_not_reach_a_script(tmp_path):
    target = tmp_path / "written-by-script"
    hostile = {"__builtins__": {"open": open}}

    with pytest.raises(ValueError, match="__builtins__"):
        env().execute(f"open({str(target)!r}, 'w').write('x')", hostile)

    assert not target.exists()


def test_a_script_leaves_only_its_own_variables_in_task_data():
    data = {"scores": [7, 2, 9]}

    env(FrozenClock(FRIDAY_MORNING)).execute("top = max(scores)\nwhen = now()", data)

    assert data == {"scores": [7, 2, 9], "top": 9, "when": FRIDAY_MORNING}


# --- running instances: the script task fails clearly and nothing happens -----------------------


# {target} is a path the script tries to create; it must never appear.
ESCAPES = [
    pytest.param("import os\nos.makedirs({target!r})", "imports are not allowed", id="import-os"),
    pytest.param(
        "__import__('os').makedirs({target!r})", "'__import__' is not allowed", id="dunder-import"
    ),
    pytest.param("open({target!r}, 'w').write('pwned')", "name 'open' is not defined", id="open"),
    pytest.param(
        "x = ().__class__.__bases__[0].__subclasses__()",
        "'__subclasses__' is not allowed",
        id="subclasses",
    ),
    pytest.param("x = getattr((), '__class__')", "name 'getattr' is not defined", id="getattr"),
    pytest.param("x = '{{0.__class__}}'.format(1)", "'format' is not allowed", id="str-format"),
    pytest.param(
        "g = (i for i in [1])\nx = g.gi_frame.f_globals",
        "'f_globals' is not allowed",
        id="gen-frame",
    ),
    pytest.param(
        "match ():\n    case tuple(__class__=c):\n        x = c",
        "'__class__' is not allowed",
        id="match-dunder",
    ),
    pytest.param(
        "try:\n    x = 1 / 0\nexcept Exception as __builtins__:\n    x = 2",
        "'__builtins__' is not allowed",
        id="except-as-builtins",
    ),
    pytest.param("def f():\n    return 1\nx = f()", "defining functions", id="def"),
    pytest.param("class A:\n    pass\nx = A()", "defining functions or classes", id="class"),
]


@pytest.mark.parametrize(("script", "named"), ESCAPES)
def test_an_escaping_script_fails_its_instance_clearly(script, named, tmp_path):
    target = tmp_path / "written-by-script"
    wf = workflow(script=script.format(target=str(target)))

    error = failure(wf)

    assert named in str(error)
    assert error.task.task_spec.name == "work"
    assert error.task.state == TaskState.ERROR
    assert "x" not in error.task.data
    assert not target.exists()


def test_an_escaping_gateway_condition_fails_its_instance_clearly():
    wf = workflow(condition="().__class__ is tuple")

    error = failure(wf)

    assert "SandboxViolation: the attribute '__class__' is not allowed" in str(error)
    assert error.task.task_spec.name == "decide"
    assert error.task.state == TaskState.ERROR


def test_a_condition_naming_an_unknown_variable_says_which_one():
    wf = workflow(script="score = 8", condition="scroe >= 7")

    error = failure(wf)

    assert "'scroe >= 7'" in str(error)
    assert "name 'scroe' is not defined" in str(error)
    assert "Did you mean 'score'?" in str(error)


def test_a_builtins_variable_in_task_data_cannot_hand_a_script_open(tmp_path):
    target = tmp_path / "written-by-script"
    wf = workflow(
        script=f"open({str(target)!r}, 'w').write('pwned')",
        data={"__builtins__": {"open": open}},
    )

    error = failure(wf)

    assert "task data that overwrites a predefined" in str(error)
    assert "'__builtins__'" in str(error)
    assert not target.exists()


def test_a_condition_on_its_own_indented_lines_runs_as_validation_accepted_it():
    # DIAGRAM puts the condition on its own line, indented, as pretty-printed BPMN does.
    content = DIAGRAM.format(script="score = 8", condition="score &gt;= 7")
    assert "\n        score &gt;= 7\n" in content
    validate(content.encode("utf-8"))

    end, _ = finished_at(workflow(script="score = 8", condition="score >= 7"))

    assert end == "end_yes"
    assert env().evaluate("\n    1 + 1\n  ", {}) == 2


def test_allowed_scripts_run_with_builtins_lambda_dates_and_working_days():
    clock = FrozenClock(FRIDAY_MORNING)
    script = "\n".join(
        [
            "names = sorted(['kim', 'ash', 'lee'])",
            "count = len(names)",
            "first = min(names)",
            "double = lambda v: v * 2",
            "doubled = double(21)",
            "raised_at = now()",
            "review_by = now() + timedelta(days=2)",
            "new_year = datetime(2025, 1, 1, tzinfo=timezone.utc)",
            "due = add_working_days(now(), 1)",
        ]
    )

    end, data = finished_at(
        workflow(script=script, condition="doubled == 42", clock=clock, helpers=script_helpers())
    )

    assert end == "end_yes"
    assert data["names"] == ["ash", "kim", "lee"]
    assert (data["count"], data["first"], data["doubled"]) == (3, "ash", 42)
    assert data["raised_at"] == FRIDAY_MORNING
    assert data["review_by"] == FRIDAY_MORNING + timedelta(days=2)
    assert data["new_year"] == datetime(2025, 1, 1, tzinfo=UTC)
    assert data["due"] == add_working_days(FRIDAY_MORNING, 1)
    assert data["due"].weekday() == 0  # Friday + 1 working day is Monday
    # helpers, builtins and the script's own functions are not left behind as task data
    assert not {"now", "datetime", "add_working_days", "__builtins__", "double"} & set(data)
