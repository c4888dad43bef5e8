"""The published catalogue and its access decisions, without a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eflows_kernel.services.errors import ConflictError, NotFoundError, ValidationError
from eflows_kernel.services.executions import ExecutionStore
from eflows_kernel.services.state import StateStore
from eflows_kernel.services.workflows.access import AccessList, AccessPolicy, Caller
from eflows_kernel.services.workflows.catalogue import (
    CatalogueError,
    WorkflowCatalogue,
    WorkflowReadOnly,
    load_catalogue,
    published_id,
)
from eflows_kernel.services.workflows.registry import WorkflowRegistry

REGISTRY = Path(__file__).resolve().parents[2] / "fixtures" / "workflow-registry"
MINIMAL = REGISTRY / "minimal_workflow"  # minimal_workflow.classic and .parallel

ALICE = Caller.of("alice", ["climate"])  # granted through her group
BOB = Caller.of("bob", ["physics"])  # granted nothing but the open workflows
CAROL = Caller.of("carol")  # granted by name


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}") as store:
        yield store


@pytest.fixture
def catalogue(state: StateStore) -> WorkflowCatalogue:
    policy = AccessPolicy({"minimal_workflow.classic": {"groups": ["climate"],
                                                        "users": ["carol"]}})
    return WorkflowCatalogue(WorkflowRegistry(state), load_catalogue([MINIMAL]), policy)


# ---- access lists ------------------------------------------------------------------------

def test_an_access_list_grants_users_and_groups() -> None:
    grant = AccessList(frozenset({"carol"}), frozenset({"climate"}))
    assert grant.allows(ALICE) and grant.allows(CAROL) and not grant.allows(BOB)
    assert AccessList().allows(BOB)  # nothing listed: every user, as HPCWaaS


def test_the_first_matching_pattern_decides() -> None:
    policy = AccessPolicy({"Pillar_III.*": {"users": ["carol"]},
                           "*": {"groups": ["staff"]}})
    assert policy.allows(CAROL, "Pillar_III.ftrt")
    assert not policy.allows(Caller.of("dave", ["staff"]), "Pillar_III.ftrt")
    assert policy.allows(Caller.of("dave", ["staff"]), "other")
    assert not policy.allows(CAROL, "other")


def test_the_hpcwaas_tag_spelling_is_a_user_list() -> None:
    policy = AccessPolicy({"wf": {"hpcwaas-authorized-users": "alice, carol"}})
    assert policy.allows(ALICE, "wf") and policy.allows(CAROL, "wf")
    assert not policy.allows(BOB, "wf")


@pytest.mark.parametrize("grants", [
    {"wf": {"users": []}},  # grants nobody: a mistake, not "everyone"
    {"wf": {"user": ["alice"]}},  # a typo'd key
    {"wf": {"groups": [3]}},
    {"wf": ["alice"]},
])
def test_an_operator_mistake_names_the_entry(grants: dict) -> None:
    with pytest.raises(ValidationError, match="'wf'"):
        AccessPolicy(grants)


# ---- the catalogue -----------------------------------------------------------------------

def test_ids_are_stable_across_servers(state: StateStore) -> None:
    first, second = load_catalogue([MINIMAL]), load_catalogue([MINIMAL])
    assert [w.id for w in first] == [w.id for w in second]
    assert first[0].id == published_id(first[0].name, first[0].version)
    assert [w.name for w in first] == ["minimal_workflow.classic", "minimal_workflow.parallel"]


def test_a_catalogue_that_cannot_be_read_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no such folder"):
        load_catalogue([tmp_path / "absent"])
    with pytest.raises(CatalogueError, match="published twice"):
        load_catalogue([MINIMAL, MINIMAL])


def test_each_caller_lists_what_it_is_granted(catalogue: WorkflowCatalogue) -> None:
    def names(caller: Caller) -> list[str]:
        return [w["name"] for w in catalogue.list(caller).items]

    assert names(ALICE) == ["minimal_workflow.classic", "minimal_workflow.parallel"]
    assert names(CAROL) == names(ALICE)
    assert names(BOB) == ["minimal_workflow.parallel"]  # open to every user
    assert all(w["published"] and w["read_only"] for w in catalogue.list(ALICE).items)


def test_a_workflow_not_granted_is_not_found_everywhere(catalogue: WorkflowCatalogue) -> None:
    hidden = next(w for w in catalogue.published.values() if w.name.endswith("classic"))
    assert catalogue.get(hidden.id, ALICE).published is True
    for call in (lambda: catalogue.get(hidden.id, BOB),
                 lambda: catalogue.resolve(hidden.id, BOB),
                 lambda: catalogue.resolve("minimal_workflow.classic", BOB),
                 lambda: catalogue.runnable(hidden.id, BOB),
                 lambda: catalogue.delete(hidden.id, BOB)):
        with pytest.raises(NotFoundError) as caught:
            call()
        assert caught.value.status == 404
    # exactly what an unknown id answers: nothing tells Bob the workflow exists
    unknown = published_id("nothing", "0")
    with pytest.raises(NotFoundError) as hidden_error:
        catalogue.get(hidden.id, BOB)
    with pytest.raises(NotFoundError) as unknown_error:
        catalogue.get(unknown, BOB)
    assert hidden_error.value.message.replace(hidden.id, unknown) == \
        unknown_error.value.message
    assert hidden.id == published_id(hidden.name, hidden.version)


def test_a_published_workflow_cannot_be_deleted(catalogue: WorkflowCatalogue) -> None:
    shared = catalogue.resolve("minimal_workflow.parallel", BOB)
    with pytest.raises(WorkflowReadOnly, match="only the operator") as caught:
        catalogue.delete(shared.id, BOB)
    assert caught.value.status == 403


def test_an_own_workflow_cannot_take_a_published_name(catalogue: WorkflowCatalogue,
                                                      tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text("print(1)\n")
    spec = {"name": "minimal_workflow.classic",
            "steps": [{"name": "main", "application": str(script)}]}
    with pytest.raises(ConflictError, match="published in the centre's catalogue"):
        catalogue.register_spec(spec, ALICE)
    # Bob does not see that workflow: its name is free for him (nothing leaks)
    own = catalogue.register_spec(spec, BOB)
    assert [w["published"] for w in catalogue.list(BOB).items] == [True, False]
    assert catalogue.resolve("minimal_workflow.classic", BOB).id == own.id
    report = catalogue.import_registry_folder(MINIMAL, ALICE)
    assert report.registered == [] and all("skipped" in w for w in report.warnings)


def test_triggering_pins_a_copy_the_runs_refer_to(catalogue: WorkflowCatalogue,
                                                  state: StateStore) -> None:
    shared = catalogue.resolve("minimal_workflow.parallel", BOB)
    assert catalogue.runnable(shared.id, BOB) == shared.id
    assert catalogue.runnable(shared.id, BOB) == shared.id  # twice: one copy
    assert catalogue.registry.get(shared.id).workflow == shared.workflow
    ExecutionStore(state).create(shared.id, {}, "local")  # the record's foreign key holds
    # the copy is not listed as the user's own, and stays read-only
    assert [w["published"] for w in catalogue.list(BOB).items] == [True]
    with pytest.raises(WorkflowReadOnly):
        catalogue.delete(shared.id, BOB)


def test_paging_runs_through_published_then_own(catalogue: WorkflowCatalogue,
                                                tmp_path: Path) -> None:
    for n in range(3):
        script = tmp_path / f"app{n}.py"
        script.write_text("print(1)\n")
        catalogue.register_spec({"name": f"own{n}",
                                 "steps": [{"name": "main", "application": str(script)}]}, ALICE)
    everything = [w["name"] for w in catalogue.list(ALICE).items]
    assert len(everything) == 5 and catalogue.list(ALICE).total == 5
    pages = [w["name"] for offset in range(0, 5, 2)
             for w in catalogue.list(ALICE, limit=2, offset=offset).items]
    assert pages == everything
    assert [w["name"] for w in catalogue.list_all(ALICE)] == everything


def test_a_shared_database_of_published_workflows(tmp_path: Path) -> None:
    """Workflow developers register into their own state database; users' servers only
    read it (the file read-only here: a write would fail)."""
    shared = tmp_path / "developers.sqlite"
    script = tmp_path / "app.py"
    script.write_text("print(1)\n")
    with StateStore(f"sqlite:///{shared}") as store:
        developers = WorkflowRegistry(store)
        developers.register_spec({"name": "climate-run", "version": "2",
                                  "steps": [{"name": "main", "application": str(script)}]})
    for leftover in tmp_path.glob("developers.sqlite-*"):
        leftover.unlink()
    shared.chmod(0o444)
    before = shared.read_bytes()
    published = load_catalogue([MINIMAL], f"sqlite:///{shared}")
    by_name = {w.name: w for w in published}
    assert set(by_name) == {"climate-run", "minimal_workflow.classic",
                            "minimal_workflow.parallel"}
    assert by_name["climate-run"].id == published_id("climate-run", "2")
    assert by_name["climate-run"].published and shared.read_bytes() == before
    with pytest.raises(CatalogueError, match="no such file"):
        load_catalogue([], f"sqlite:///{tmp_path / 'absent.sqlite'}")
    (tmp_path / "junk.sqlite").write_text("not a database")
    with pytest.raises(CatalogueError, match="cannot be read"):
        load_catalogue([], f"sqlite:///{tmp_path / 'junk.sqlite'}")


def test_the_server_start_names_a_broken_catalogue(tmp_path: Path) -> None:
    from eflows_kernel.services.app import Services, ServicesConfig

    for config, match in (({"catalogue_paths": (tmp_path / "gone",)}, "gone"),
                          ({"catalogue_access": {"wf": {"users": []}}}, "grants nobody")):
        services = Services(ServicesConfig(
            state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
            vault_key_file=tmp_path / "vault.key", runs_dir=tmp_path / "runs", **config))
        try:
            with pytest.raises((CatalogueError, ValidationError), match=match):
                services.start()
        finally:
            services.close()


def test_a_grant_matching_nothing_is_reported(state: StateStore) -> None:
    policy = AccessPolicy({"minimal_workflow.clasic": {"users": ["carol"]},
                           "minimal_workflow.*": {"groups": ["climate"]}})
    catalogue = WorkflowCatalogue(WorkflowRegistry(state), load_catalogue([MINIMAL]), policy)
    assert catalogue.unused_grants() == ["minimal_workflow.clasic"]
