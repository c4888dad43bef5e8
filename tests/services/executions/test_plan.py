"""The plan of an execution: inputs checked once, steps chosen once, a DAG of steps."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.executions.plan import ExecutionPlan, StepPlan
from eflows_kernel.services.executions.planning import plan_execution, plan_steps, replan
from eflows_kernel.services.executions.rendering import render_step
from eflows_kernel.services.executions.store import Execution
from eflows_kernel.services.lifecycle import ExecutionState
from eflows_kernel.services.workflows import Step, WorkflowImportError, workflow_from_spec

SPEC = {"name": "two", "inputs": [{"name": "n", "type": "integer"},
                                  {"name": "out", "type": "path", "required": False}],
        "steps": [{"name": "first", "application": "/a/first.py", "arguments": ["${n}"]},
                  {"name": "second", "application": "/a/${n}.py", "depends_on": ["first"]}]}


def test_inputs_are_checked_and_typed_once() -> None:
    plan = plan_execution("wf-id", workflow_from_spec(SPEC), {"n": "3"}, "local")
    assert plan.values == {"n": 3} and plan.workflow_id == "wf-id"
    with pytest.raises(ValidationError) as refused:
        plan_execution("wf-id", workflow_from_spec(SPEC), {"n": "many", "zz": 1}, "local")
    assert set(refused.value.details["fields"]) == {"n", "zz"}


def test_the_plan_holds_every_step_on_the_requested_site() -> None:
    plan = plan_execution("wf-id", workflow_from_spec(SPEC), {"n": 1}, "cluster")
    assert [(s.name, s.site, s.depends_on) for s in plan.steps] == [
        ("first", "cluster", ()), ("second", "cluster", ("first",))]
    assert plan.entry is plan.steps[0] and plan.is_graph


def test_a_workflow_without_steps_cannot_run() -> None:
    with pytest.raises(ValidationError, match="has no step to run") as refused:
        plan_steps("wf-id", workflow_from_spec({"name": "empty"}), "local")
    assert refused.value.details["id"] == "wf-id"


def test_ready_steps_follow_their_dependencies() -> None:
    def step(name: str, *after: str) -> StepPlan:
        return StepPlan(name, "local", Step(name=name, application="/x.py"), after)

    plan = ExecutionPlan("wf", workflow_from_spec({"name": "w"}), {}, (
        step("stage-in"), step("build"), step("run", "stage-in", "build"),
        step("stage-out", "run")))
    assert [s.name for s in plan.ready(())] == ["stage-in", "build"]
    assert [s.name for s in plan.ready({"stage-in"})] == ["build"]
    assert [s.name for s in plan.ready({"stage-in", "build"})] == ["run"]
    assert [s.name for s in plan.ready({"stage-in", "build", "run"})] == ["stage-out"]
    assert plan.ready({"stage-in", "build", "run", "stage-out"}) == []
    assert plan.entry.name == "stage-in"


def test_rendering_names_the_unknown_input() -> None:
    first, second = workflow_from_spec(SPEC).steps
    assert render_step(first, {"n": 2}) == ("/a/first.py", ["2"])
    assert render_step(second, {"n": 2}, {"n": 9}) == ("/a/2.py", [])
    with pytest.raises(ValidationError) as refused:
        render_step(first, {})
    assert "n" in refused.value.details["fields"]


TEMPLATED = {"name": "templated",
             "inputs": [{"name": "nodes", "type": "string"}, {"name": "q", "type": "string"},
                        {"name": "limit", "type": "string", "default": "10"}],
             "steps": [{"name": "run", "application": "/a/run.py", "qos": "${q}",
                        "num_nodes": "${nodes}", "time_limit": "${limit}",
                        "env": {"MODE": "fast-${q}"}, "compss_modules": ["compss/${q}"]}]}


def test_templates_fill_every_field_typed() -> None:
    plan = plan_execution("id", workflow_from_spec(TEMPLATED), {"nodes": "2", "q": "debug"},
                          "site")
    step = plan.entry.step
    assert (step.qos, step.num_nodes, step.time_limit) == ("debug", 2, "10")
    assert step.env == {"MODE": "fast-debug"} and step.compss_modules == ["compss/debug"]


def test_a_template_value_of_the_wrong_type_names_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        plan_execution("id", workflow_from_spec(TEMPLATED),
                       {"nodes": "two", "q": "x", "limit": "soon"}, "site")
    fields = refused.value.details["fields"]
    assert set(fields) == {"steps.run.num_nodes", "steps.run.time_limit"}
    assert "'two'" in fields["steps.run.num_nodes"]


OPTIONED = {"name": "optioned",
            "inputs": [{"name": "n", "type": "string"}, {"name": "label", "type": "string",
                                                          "default": "x"}],
            "steps": [{"name": "run", "application": "/a/run.py",
                       "options": {"workers": "${n}", "slurm_workers": "${n}",
                                   "note": "run-${label}", "kept": 3}}]}


def test_step_options_are_filled_and_the_numbers_typed() -> None:
    """``options.workers`` reaches ``int()`` in deploy/allocation.py: filled and typed at
    trigger, a wrong value a field error there, not a crash on the site."""
    options = plan_execution("id", workflow_from_spec(OPTIONED), {"n": "3"},
                             "site").entry.step.options
    assert options == {"workers": 3, "slurm_workers": 3, "note": "run-x", "kept": 3}
    with pytest.raises(ValidationError) as refused:
        plan_execution("id", workflow_from_spec(OPTIONED), {"n": "three"}, "site")
    fields = refused.value.details["fields"]
    assert set(fields) == {"steps.run.options.workers", "steps.run.options.slurm_workers"}
    assert "'three'" in fields["steps.run.options.workers"]
    with pytest.raises(ValidationError) as refused:  # workers: none is no worker count
        plan_execution("id", workflow_from_spec(OPTIONED), {"n": "0"}, "site")
    assert set(refused.value.details["fields"]) == {"steps.run.options.workers"}
    literal = {"name": "w", "steps": [{"name": "run", "application": "/a/run.py",
                                       "options": {"workers": "many"}}]}
    with pytest.raises(ValidationError, match=r"steps\.run\.options\.workers must be"):
        plan_execution("id", workflow_from_spec(literal), {}, "site")


def test_an_unknown_reference_in_step_options_is_refused_at_registration() -> None:
    spec = {"name": "w", "steps": [{"name": "a", "application": "/a.py",
                                    "options": {"workers": "${n}"}}]}
    with pytest.raises(WorkflowImportError,
                       match=r"steps\.a\.options\.workers: references '\$\{n\}'"):
        workflow_from_spec(spec)


def test_scaling_out_a_step_in_a_container_image_is_refused_naming_the_field() -> None:
    """``slurm_workers`` asks dask-jobqueue for worker jobs, and it calls ``sbatch`` from
    where the runner is: inside the step's image, where Slurm's commands are not. Refused
    at registration when both are written out, at trigger when a template fills them."""
    step = {"name": "run", "application": "/a/run.py", "container_image": "/img/app.sif",
            "options": {"slurm_workers": 2}}
    with pytest.raises(WorkflowImportError) as refused:
        workflow_from_spec({"name": "w", "steps": [step]})
    message = str(refused.value)
    assert "steps.run.options.slurm_workers:" in message
    assert "container_image" in message and "sbatch" in message and "num_nodes" in message
    templated = {"name": "w", "inputs": [{"name": "n", "type": "string"},
                                         {"name": "image", "type": "string"}],
                 "steps": [{**step, "container_image": "${image}",
                            "options": {"slurm_workers": "${n}"}}]}
    workflow = workflow_from_spec(templated)  # not known yet: the trigger decides
    with pytest.raises(ValidationError) as refused:
        plan_execution("id", workflow, {"n": "2", "image": "/img/app.sif"}, "site")
    fields = refused.value.details["fields"]
    assert set(fields) == {"steps.run.options.slurm_workers"}
    assert "container_image" in fields["steps.run.options.slurm_workers"]
    # either alone is a step that runs
    assert plan_execution("id", workflow, {"n": "0", "image": "/img/app.sif"},
                          "site").entry.step.container_image == "/img/app.sif"
    assert plan_execution("id", workflow, {"n": "2", "image": ""},
                          "site").entry.step.options["slurm_workers"] == 2


def test_a_templated_period_is_filled_and_checked_at_trigger() -> None:
    """``every: ${period}``: a period keeps the stage-out in the job too (synced while
    it runs; its step after the job is the last sync); none makes it only a step after
    the job; a wrong one is a field error."""
    spec = {**MOVING, "inputs": [*MOVING["inputs"], {"name": "period", "type": "string",
                                                     "required": False, "default": ""}],
            "data_movements": [{**m, "every": "${period}"} if m["name"] == "synced" else m
                               for m in MOVING["data_movements"]]}
    workflow = workflow_from_spec(spec)
    for values, synced_by_job in (({"period": "1m"}, True), ({}, False)):
        steps = {s.name: s for s in plan_execution("wf", workflow, values, "cluster").steps}
        assert steps["count:out:synced"].final_sync is synced_by_job, values
        assert ("synced" in (steps["count"].movements or ())) is synced_by_job, values
    with pytest.raises(ValidationError) as refused:
        plan_execution("wf", workflow, {"period": "0s"}, "cluster")
    assert set(refused.value.details["fields"]) == {"data_movements.synced.every"}
    assert "from 1 s to 366 days" in refused.value.details["fields"][
        "data_movements.synced.every"]
    with pytest.raises(WorkflowImportError,
                       match=r"data_movements\.synced\.every: references '\$\{nowhere\}'"):
        workflow_from_spec({**spec, "data_movements": [
            {**m, "every": "${nowhere}"} for m in spec["data_movements"]
            if m["name"] == "synced"]})
    with pytest.raises(WorkflowImportError,  # the login a movement uses: the same
                       match=r"data_movements\.synced\.credential_id: references"):
        workflow_from_spec({**MOVING, "data_movements": [
            {**m, "credential_id": "${who}"} for m in MOVING["data_movements"]
            if m["name"] == "synced"]})


def test_unknown_references_and_rings_are_refused_at_registration_with_the_path() -> None:
    spec = {"name": "w", "steps": [
        {"name": "a", "application": "/a.py", "env": {"X": "${nowhere}"}},
        {"name": "b", "application": "/b.py", "arguments": ["${steps.c.dir}"]},
        {"name": "c", "application": "/c.py", "depends_on": ["a"]}]}
    with pytest.raises(WorkflowImportError) as refused:
        workflow_from_spec(spec)
    assert "steps.a.env.X: references '${nowhere}'" in str(refused.value)
    assert "steps.b.arguments[0]: '${steps.c.dir}': step 'b' does not wait" in \
        str(refused.value)
    ring = {"name": "w", "steps": [
        {"name": "a", "application": "/a.py", "depends_on": ["b"]},
        {"name": "b", "application": "/b.py", "depends_on": ["a"]}]}
    with pytest.raises(WorkflowImportError, match="wait for each other: a -> b -> a"):
        workflow_from_spec(ring)
    with pytest.raises(WorkflowImportError, match=r"steps\.a\.depends_on: 'zz': no step"):
        workflow_from_spec({"name": "w", "steps": [
            {"name": "a", "application": "/a.py", "depends_on": ["zz"]}]})


MOVING = {"name": "moving", "inputs": [{"name": "share", "default": "webdav://h/in"}],
          "steps": [{"name": "count", "application": "/a/count.py"}],
          "data_movements": [
              {"name": "regions", "direction": "in", "kind": "webdav", "source": "${share}",
               "target": "inputs/regions"},
              {"name": "page", "direction": "in", "kind": "http",
               "source": "https://example.org/p.txt"},
              {"name": "code", "direction": "in", "kind": "local", "source": "src"},
              {"name": "to_s3", "direction": "out", "kind": "s3", "source": "results",
               "target": "s3://b/run"},
              {"name": "synced", "direction": "out", "kind": "webdav", "source": "results",
               "target": "webdav://h/out", "every": "10s"},
              {"name": "back", "direction": "out", "kind": "local", "source": "results"}]}


def test_data_service_movements_are_steps_before_and_after_their_job() -> None:
    """A DLS-kind stage-in is a step the job waits for (and links), a stage-out a step
    after it; uploads and local outputs stay in the job's deployment. A periodic sync is
    both: the job's deployment syncs it while the job runs, and its final sync is a step
    after the job (which also follows a job that ran and failed)."""
    plan = plan_execution("wf", workflow_from_spec(MOVING), {}, "cluster")
    assert plan.is_graph
    steps = {s.name: s for s in plan.steps}
    assert list(steps) == ["count:in:regions", "count:in:page", "count", "count:out:to_s3",
                           "count:out:synced"]
    job = steps["count"]
    assert job.depends_on == job.links == ("count:in:regions", "count:in:page")
    assert job.movements == ("code", "synced", "back")
    assert plan.synced("count") == ("synced",)  # its deployment does not copy it at the end
    assert steps["count:out:to_s3"].depends_on == ("count",)
    assert steps["count:out:to_s3"].stages_out and not steps["count:in:page"].stages_out
    assert steps["count:out:synced"].final_sync and not steps["count:out:to_s3"].final_sync
    assert {(s.movement, s.job, s.site) for s in plan.steps if s.movement} == {
        ("regions", "count", "cluster"), ("page", "count", "cluster"),
        ("to_s3", "count", "cluster"), ("synced", "count", "cluster")}
    inputs = {"count:in:regions", "count:in:page"}
    assert [s.name for s in plan.ready(inputs | {"count"})] == ["count:out:to_s3",
                                                                 "count:out:synced"]
    # The job ran and failed: its final sync follows it still, no other stage-out does.
    assert [s.name for s in plan.ready(inputs, failed={"count"})] == ["count:out:synced"]
    assert [s.name for s in plan.ready(inputs)] == ["count"]
    assert plan.entry.name == "count:in:regions"


def test_the_local_site_does_its_data_service_movements_as_steps_too() -> None:
    """This server is the local site's site: the same steps as on a cluster, and the
    periodic stage-out (which a local job does not sync while it runs) a step after the
    job, its last complete copy, instead of nothing at all."""
    steps = {s.name: s for s in plan_steps("wf", workflow_from_spec(MOVING), "local")}
    assert list(steps) == ["count:in:regions", "count:in:page", "count",
                           "count:out:to_s3", "count:out:synced"]
    assert {s.site for s in steps.values()} == {"local"}
    job = steps["count"]
    assert job.depends_on == job.links == ("count:in:regions", "count:in:page")
    assert job.movements == ("code", "back")  # uploads and local outputs stay the job's
    assert steps["count:out:synced"].depends_on == ("count",)
    assert steps["count:out:synced"].stages_out


def test_a_later_job_waits_for_the_stage_outs_of_the_job_before_it() -> None:
    spec = {"name": "two", "steps": [
        {"name": "make", "application": "/a/make.py"},
        {"name": "use", "application": "/a/use.py", "depends_on": ["make"]}],
        "data_movements": [{"name": "up", "direction": "out", "kind": "s3",
                            "source": "r", "target": "s3://b/r", "depends_on": ["make"]}]}
    steps = {s.name: s for s in plan_steps("wf", workflow_from_spec(spec), "cluster")}
    assert steps["make:out:up"].depends_on == ("make",)
    assert steps["use"].depends_on == ("make", "make:out:up")


IMAGES = {"name": "images", "inputs": [{"name": "far", "default": "login2.example.org"}],
          "steps": [{"name": "near", "application": "/a/near.py", "environment": "Near"},
                    {"name": "far", "application": "/a/far.py", "environment": "Far"}],
          "data_movements": [
              {"name": "near_image", "direction": "in", "kind": "image", "source": "w/s",
               "target": "/images", "environment": "Near",
               "options": {"target_host": "login1.example.org"}},
              {"name": "sent_far", "direction": "in", "kind": "image", "source": "w/s",
               "target": "/images", "environment": "Near",
               "options": {"target_host": "${far}"}},
              {"name": "far_image", "direction": "in", "kind": "image", "source": "w/s",
               "target": "/images", "environment": "Far"}]}
PLACES = {"hpc1": "u@login1.example.org:22", "hpc2": "u@login2.example.org:22"}
ROLES = {"Near": "hpc1", "Far": "hpc2"}


def test_an_image_transfer_goes_to_the_bound_site_its_target_host_names() -> None:
    """The DLS image transfer's ``target_host`` is the cluster the image goes to: the
    bound site of that host (or name), its job's when that is the one; its job waits for
    it and links only what came to its own site. A host of no bound site is a 400."""
    workflow = workflow_from_spec(IMAGES)
    plan = plan_execution("wf", workflow, {}, ROLES, PLACES)
    steps = {s.name: s for s in plan.steps}
    assert {n: s.site for n, s in steps.items() if s.movement} == {
        "near:in:near_image": "hpc1", "near:in:sent_far": "hpc2",
        "far:in:far_image": "hpc2"}
    assert steps["near"].depends_on == ("near:in:near_image", "near:in:sent_far")
    assert steps["near"].links == ("near:in:near_image",)  # (hpc2's files are not here)
    by_name = plan_execution("wf", workflow, {"far": "hpc2"}, ROLES, PLACES)
    assert by_name.step("near:in:sent_far").site == "hpc2"  # a site's name names it too
    with pytest.raises(ValidationError) as refused:
        plan_execution("wf", workflow, {"far": "nord3.bsc.es"}, ROLES, PLACES)
    field = "data_movements.sent_far.target_host"
    assert field in refused.value.details["fields"]
    assert "'nord3.bsc.es' is not the host of a site bound to this execution (bound: " \
        "hpc1, hpc2)" in refused.value.details["fields"][field]
    # Planned again from its record after a restart: the sites bound at trigger and
    # their places, so the image goes where it went; one site alone names no other host.
    now = datetime.now(timezone.utc)
    record = Execution(id="g", workflow_id="wf", site=plan.steps[0].site, credential_id=None,
                       inputs=plan.values, state=ExecutionState.RUNNING, state_history=[],
                       outputs={}, remote_job_id=None, event_log=None, event_seq=0,
                       error=None, created_at=now, updated_at=now, step_sites=plan.sites)
    again = replan(record, workflow, PLACES.get)
    assert again.sites == plan.sites and again.step("near").links == ("near:in:near_image",)
    with pytest.raises(ValidationError) as alone:
        plan_steps("wf", workflow, "hpc1", {"far": "nord3.bsc.es"})
    assert "'login1.example.org' is not the host of a site bound to this execution (bound: " \
        "hpc1)" in alone.value.message
