"""@data_transformation (@dt) and dto as PyCOMPSs applications use them.

Run from a directory holding ``infile`` ("hello dt") and ``infile_2`` ("a b c").
unittest-style; prints ``RESULT <json>``.
"""

import json
import sys
import unittest

from dt_functions import app_task, appender, appender_w_param, ctf, cto, ftc, fto, otf, scale
from pycompss.api.api import compss_barrier
from pycompss.api.api import compss_wait_on as cwo
from pycompss.api.data_transformation import (
    COLLECTION_TO_FILE,
    COLLECTION_TO_OBJECT,
    FILE_TO_COLLECTION,
    FILE_TO_OBJECT,
    OBJECT_TO_FILE,
    dt,
    dto,
)
from pycompss.api.parameter import COLLECTION_IN, FILE_IN
from pycompss.api.task import task

RESULTS = {}


@dt("A", appender)
@task(returns=1)
def dt_basic(A):
    A.append("from_task")
    return A


@dt()
@task(returns=1)
def dto_basic(A, B):
    A.append("from_task")
    B.append("from_task")
    return [A, B]


@dt("A", appender_w_param, tba="dt_no_workflow")
@dt("A", app_task, is_workflow=True)
@dt("B", app_task, is_workflow=True)
@dt("B", appender_w_param, tba="dt_no_workflow")
@task(returns=2)
def _appender(A, B):
    A.append("task itself")
    B.append("task itself")
    return A, B


@dt("values", scale, factor="{{factor}}")
@task(returns=1)
def total(values, factor):
    return sum(values)


@dt(target="data", function=fto, type=FILE_TO_OBJECT)
@task(returns=1)
def file_to_object(data):
    return data


@dt(target="data", function=otf, type=OBJECT_TO_FILE, destination="dt_file_out")
@task(data=FILE_IN, returns=1)
def obj_to_file(data):
    with open(data) as handle:
        return handle.read()


@dt(target="data", function=ftc, type=FILE_TO_COLLECTION, size=3)
@task(data=COLLECTION_IN, returns=1)
def file_to_col(data):
    return " " + str(len(data)) + "".join(data)


@dt(target="data", function=cto, type=COLLECTION_TO_OBJECT)
@task(returns=object)
def col_to_obj(data):
    return data


@dt(target="data", function=ctf, type=COLLECTION_TO_FILE)
@task(data=FILE_IN, returns=1)
def col_to_file(data):
    with open(data) as handle:
        return handle.read()


class TestDataTransformation(unittest.TestCase):

    def test_basic(self):
        A = [0]
        RESULTS["basic"] = cwo(dt_basic(A))
        self.assertEqual(RESULTS["basic"], [0, "from_dt", "from_task"])
        self.assertEqual(A, [0])  # the transformation worked on the task's copy

    def test_dto(self):
        A, B = [0], ["b"]
        RESULTS["dto"] = cwo(dto_basic(A, B, dt=[dto("A", appender), dto("B", appender)]))
        one = cwo(dto_basic([1], [2], dt=dto("A", appender)))
        self.assertEqual(one, [[1, "from_dt", "from_task"], [2, "from_task"]])

    def test_stacked(self):
        A, B = _appender([0, 1, 2], [3, 4, 5])
        RESULTS["stacked"] = [cwo(A), cwo(B)]

    def test_placeholder_kwarg(self):
        RESULTS["placeholder"] = cwo(total([1, 2, 3], 10))

    def test_typed(self):
        RESULTS["file_to_object"] = cwo(file_to_object("infile"))
        RESULTS["object_to_file"] = cwo(obj_to_file("a_string"))
        RESULTS["file_to_collection"] = cwo(file_to_col("infile_2"))
        RESULTS["collection_to_object"] = cwo(col_to_obj(["1", "2", "3"]))
        RESULTS["collection_to_file"] = cwo(col_to_file(["1", "2", "3"]))


if __name__ == "__main__":
    outcome = unittest.main(exit=False, verbosity=0).result
    compss_barrier()
    if not outcome.wasSuccessful():
        sys.exit(1)
    print("RESULT " + json.dumps(RESULTS, sort_keys=True))
