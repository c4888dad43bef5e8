"""The workflow registry service on the state database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions import ExecutionStore
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows import Workflow
from eflows_kernel.services.workflows.registry import WorkflowRegistry

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "workflow-registry"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as store:
        yield store


@pytest.fixture
def registry(state: StateStore) -> WorkflowRegistry:
    return WorkflowRegistry(state)


def test_register_and_get_round_trip(registry: WorkflowRegistry) -> None:
    workflow = Workflow(name="wc", version="1.0", description="word count",
                        inputs=[{"name": "text", "type": "path"}],
                        steps=[{"name": "count", "application": "src/wc.py",
                                "arguments": ["${text}"]}])
    registered = registry.register(workflow)
    assert (registered.name, registered.version) == ("wc", "1.0")
    assert registered.created_at.tzinfo is not None
    fetched = registry.get(registered.id)
    assert fetched == registered
    assert fetched.workflow == workflow
    assert fetched.summary()["inputs"][0]["name"] == "text"


def test_same_name_and_version_twice_is_a_conflict(registry: WorkflowRegistry) -> None:
    first = registry.register(Workflow(name="w", version="1"))
    with pytest.raises(ConflictError, match="'w' version '1' is already registered") as caught:
        registry.register(Workflow(name="w", version="1"))
    assert caught.value.status == 409
    assert caught.value.details["id"] == first.id
    other = registry.register(Workflow(name="w", version="1"), version="2")
    assert other.version == "2"
    assert other.workflow.version == "2"


def test_get_by_name_gives_the_highest_version_by_default(registry: WorkflowRegistry) -> None:
    for version in ("1.9", "1.10", "1.2"):
        registry.register(Workflow(name="w", version=version))
    assert registry.get_by_name("w").version == "1.10"
    assert registry.get_by_name("w", "1.2").version == "1.2"
    with pytest.raises(NotFoundError):
        registry.get_by_name("w", "3")
    with pytest.raises(NotFoundError):
        registry.get_by_name("nope")


def test_list_filters_and_paginates(registry: WorkflowRegistry) -> None:
    for n in range(5):
        registry.register(Workflow(name="a", version=f"{n}"))
    registry.register(Workflow(name="b"))
    page = registry.list()
    assert page.total == 6
    assert [w.name for w in page.items] == ["a"] * 5 + ["b"]
    first = registry.list(name="a", limit=2)
    second = registry.list(name="a", limit=2, offset=2)
    last = registry.list(name="a", limit=2, offset=4)
    assert first.total == second.total == last.total == 5
    versions = [w.version for p in (first, second, last) for w in p.items]
    assert versions == ["0", "1", "2", "3", "4"]
    assert registry.list(offset=10).items == []
    for bad in ({"limit": 0}, {"limit": 10_000}, {"offset": -1}, {"limit": "5"}):
        with pytest.raises(ValidationError):
            registry.list(**bad)


def test_delete_and_not_found(registry: WorkflowRegistry, state: StateStore) -> None:
    gone = registry.register(Workflow(name="gone"))
    used = registry.register(Workflow(name="used"))
    ExecutionStore(state).create(used.id, {}, "hpc")
    registry.delete(gone.id)
    for call in (registry.get, registry.delete):
        with pytest.raises(NotFoundError) as caught:
            call(gone.id)
        assert caught.value.status == 404
    with pytest.raises(NotFoundError):
        registry.get(None)  # type: ignore[arg-type]
    with pytest.raises(ConflictError, match="1 execution"):
        registry.delete(used.id)
    assert registry.get(used.id).name == "used"


def test_register_spec_python_file_and_folder(registry: WorkflowRegistry,
                                              tmp_path: Path) -> None:
    spec = registry.register_spec({"name": "spec", "inputs": {"n": {"type": "integer"}},
                                   "steps": [{"name": "s", "application": "a.py",
                                              "arguments": ["${n}"]}]})
    assert spec.workflow.inputs[0].type == "integer"
    script = tmp_path / "hello.py"
    script.write_text('"""Say hello."""\nprint("hello")\n')
    from_file = registry.register_python_file(script, inputs={"who": {}}, version="2")
    assert (from_file.name, from_file.version, from_file.description) == ("hello", "2",
                                                                          "Say hello.")
    folder = tmp_path / "proj"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "main.py").write_text("print(1)\n")
    from_folder = registry.register_folder(folder, version="3")
    assert (from_folder.name, from_folder.version) == ("proj", "3")


def test_bad_sources_are_validation_errors(registry: WorkflowRegistry, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not a declared input"):
        registry.register_spec({"name": "w", "steps": [{"name": "s", "application": "a.py",
                                                        "arguments": ["${missing}"]}]})
    with pytest.raises(ValidationError) as caught:
        registry.register_python_file(tmp_path / "none.py")
    assert caught.value.status == 400
    assert caught.value.details["path"] == str(tmp_path / "none.py")
    with pytest.raises(ValidationError):
        registry.register_folder(tmp_path / "nowhere")
    with pytest.raises(ValidationError):
        registry.import_registry_folder(tmp_path)
    with pytest.raises(ValidationError):
        registry.register("not a workflow")  # type: ignore[arg-type]
    assert registry.list().total == 0


def test_import_the_fixture_registry(registry: WorkflowRegistry) -> None:
    report = registry.import_registry_folder(FIXTURES)
    names = sorted(w.name for w in report.registered)
    assert names == ["feature_extraction_wf", "ftrt", "minimal_workflow.classic",
                     "minimal_workflow.parallel"]
    assert report.warnings  # unmapped TOSCA parts are reported, not dropped
    assert registry.list().total == 4
    assert registry.get_by_name("ftrt").version == "0.2.2-SNAPSHOT"
    again = registry.import_registry_folder(FIXTURES)  # harmless to repeat
    assert again.registered == []
    assert sum("already registered" in w for w in again.warnings) == 4
    assert registry.list().total == 4
