"""Decorator definitions checked as PyCOMPSs checks them when the module is imported
(see ../blueprint_app.py): a mandatory argument missing is an error."""

import warnings

from pycompss.api.compss import compss
from pycompss.api.constraint import constraint
from pycompss.api.decaf import decaf
from pycompss.api.implement import implement
from pycompss.api.mpi import mpi
from pycompss.api.parameter import FILE_OUT
from pycompss.api.task import task


def refused(make):
    """The exception a definition raised, by class name, or None."""
    try:
        make()
    except Exception as exc:  # PyCOMPSs raises a plain Exception
        return type(exc).__name__
    return None


def nested_without_app():
    @compss(runcompss="runcompss", flags="-d", appname="nested.py", computing_nodes="2")
    @task(returns=int)
    def nested(value):
        pass


def dataflow_without_script():
    @decaf(working_dir=".", runner="mpirun", dfscript="flow.py")
    @task(param=FILE_OUT)
    def dataflow(param):
        pass


def variant_without_method():
    @implement(source_class="blueprint.drafts")
    @constraint(computing_units="1")
    @task(returns=int)
    def faster(value):
        return value


def ranks_without_runner():
    @mpi(binary="hostname", working_dir="/tmp")
    @task()
    def ranks():
        pass


def older_spellings():
    """camelCase names PyCOMPSs still accepts (with a warning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @compss(runcompss="runcompss", appName="nested.py", workerInMaster="false")
        @task(returns=int)
        def nested(value):
            pass

        @decaf(workingDir=".", runner="mpirun", dfScript="flow.py", dfLib="lib")
        @task(param=FILE_OUT)
        def dataflow(param):
            pass

        @implement(sourceClass="blueprint.drafts", method="slow")
        @task(returns=int)
        def faster(value):
            return value

    return sorted({str(w.message).split(":")[0] for w in caught
                   if "deprecated parameter" in str(w.message)})
