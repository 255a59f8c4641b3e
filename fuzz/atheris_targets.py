"""Coverage-guided fuzzing of the BPMN validator and the form check with atheris (libFuzzer).

Optional and run by hand, not by ``make test`` (the hypothesis suite in tests/fuzz is what CI
runs): ``pip install -e '.[fuzz]'``, then

    .venv/bin/python fuzz/atheris_targets.py bpmn -max_total_time=300
    .venv/bin/python fuzz/atheris_targets.py forms -max_total_time=300

Any libFuzzer option or corpus directory may follow the target's name. Without a corpus
directory the shipped diagrams seed a temporary one. A crash is anything but the documented
answer (``InvalidDefinition`` for a diagram; cleaned data or ``FieldProblem``s for a form) or an
input that takes longer than ``-timeout`` seconds (default 10): libFuzzer saves the input as
``crash-*``/``timeout-*`` in the working directory; replay it with the same command and the
file's path.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["workflows", "tasks"]):
    from tasks.forms import FieldProblem, form_of
    from tasks.forms import validate as check_form
    from workflows.errors import InvalidDefinition
    from workflows.validation import validate

SHIPPED = sorted((ROOT / "bpmn").glob("*.bpmn"))


def bpmn(data: bytes) -> None:
    try:
        validate(data, "fuzz.bpmn")
    except InvalidDefinition as err:
        if not err.problems or not all(p.message for p in err.problems):
            raise AssertionError("refused without a problem to show") from None


def _forms() -> list[list]:
    forms = []
    for path in SHIPPED:
        definition = validate(path.read_bytes(), path.name)
        for spec in [definition.spec, *definition.subprocess_specs.values()]:
            for task in spec.task_specs.values():
                if getattr(task, "form", None) is not None and task.form.fields:
                    forms.append(form_of(task))
    return forms


FORMS: list[list] = []


def forms(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    fields = FORMS[provider.ConsumeIntInRange(0, len(FORMS) - 1)]
    answers: dict = {}
    for field in fields:
        if provider.ConsumeBool():
            continue
        text = provider.ConsumeUnicode(provider.ConsumeIntInRange(0, 64))
        try:
            answers[field.id] = json.loads(text)  # any JSON value the fuzzer can spell
        except (ValueError, RecursionError):
            answers[field.id] = text  # or the text itself, surrogates and all
    cleaned, problems = check_form(fields, answers)
    if not all(isinstance(p, FieldProblem) for p in problems):
        raise AssertionError("validate returned something other than FieldProblems")
    if not problems and set(cleaned) != {f.id for f in fields}:
        raise AssertionError("cleaned data does not hold every field")


TARGETS = {"bpmn": bpmn, "forms": forms}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options] [corpus]")
    target, options = sys.argv[1], sys.argv[2:]
    if target == "forms":
        FORMS.extend(_forms())
    if not any(not option.startswith("-") for option in options):
        corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-"))
        if target == "bpmn":
            for path in SHIPPED:
                shutil.copy(path, corpus)
        options.append(str(corpus))
    if not any(option.startswith("-timeout=") for option in options):
        options.append("-timeout=10")
    if target == "bpmn" and not any(option.startswith("-max_len=") for option in options):
        options.append("-max_len=65536")  # the shipped diagrams are up to 40 kB
    atheris.Setup([sys.argv[0], *options], TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
