"""A TOSCA PyCOMPSs job's arguments reach the application as the plugin's shell cut them
(``bash -c`` over the arguments joined with spaces), not one word per list item."""

from __future__ import annotations

from pathlib import Path

import pytest

from eflows_kernel.services.executions.planning import plan_execution
from eflows_kernel.services.executions.rendering import render_step
from eflows_kernel.services.workflows import ArgumentRenderError, Step, import_registry_folder
from eflows_kernel.services.workflows.shell_words import shell_words

VALUES = {"seis_type": "BS", "case": "", "two": "a b", "path": "/data"}


@pytest.mark.parametrize(("template", "words"), [
    ("--seistype $seis_type", ["--seistype", "BS"]),  # ftrt 0.1.0
    ("--hpc mn4", ["--hpc", "mn4"]),  # esm
    ("--group_sims=${path}", ["--group_sims=/data"]),
    ("${case}", []),  # an unquoted empty input makes no word
    ('"${case}"', [""]),  # a quoted one does
    ("--x=$two", ["--x=a", "b"]),  # an unquoted value is split on blanks
    ('--x="$two"', ["--x=a b"]),
    ("'$two'", ["$two"]),  # single quotes: literal
    ('--start_dates "1990 1991"', ["--start_dates", "1990 1991"]),
    ("a\\ b", ["a b"]),
    ("$$HOME", ["$HOME"]),  # this project's literal dollar
    ("", []),
])
def test_an_argument_is_cut_as_bash_cuts_the_plugins_line(template: str,
                                                          words: list[str]) -> None:
    assert shell_words(template, VALUES) == words


def _step(tosca_type: str | None) -> Step:
    return Step(name="job", application="/app/run.py",
                arguments=["--seistype $seis_type", "${case}", "--data ${path}/in"],
                options={"tosca_type": tosca_type} if tosca_type else {})


@pytest.mark.parametrize("tosca_type", ["org.eflows4hpc.pycompss.plugin.nodes.PyCOMPSJob",
                                        "pycomps.ansible.nodes.PyCOMPSJob"])
def test_a_plugin_jobs_arguments_are_the_words_of_its_line(tosca_type: str) -> None:
    assert render_step(_step(tosca_type), VALUES) == (
        "/app/run.py", ["--seistype", "BS", "--data", "/data/in"])


def test_other_steps_keep_one_argument_per_item() -> None:
    assert render_step(_step(None), VALUES)[1] == ["--seistype BS", "", "--data /data/in"]


def test_an_unknown_reference_is_still_named() -> None:
    with pytest.raises(ArgumentRenderError):
        shell_words("--x $nobody", VALUES)


def test_an_imported_jobs_arguments_are_cut_too() -> None:
    """The ftrt fixture (newer plugin): ``"--seistype ${seis_type}"`` is two words."""
    registry = Path(__file__).resolve().parents[2] / "fixtures" / "workflow-registry"
    workflow = {w.name: w for w in import_registry_folder(registry)}["ftrt"]
    values = {name: "v" for name in ("images_path", "data_path", "region_data_oid",
                                     "templates_oid", "vault_id", "user_id", "run_path",
                                     "parameters_url_file", "parameters_file", "results_path",
                                     "results_oid", "event")}
    plan = plan_execution("id", workflow, values, "cluster")
    (job,) = [s for s in plan.steps if s.name == "PyCOMPSJob"]
    arguments = render_step(job.step, plan.values)[1]
    assert arguments[:4] == ["--seistype", "BS", "--parameters_file", "v"]
