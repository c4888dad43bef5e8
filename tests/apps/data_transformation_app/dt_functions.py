"""Transformation functions and tasks of data_transformation_app (plain Python)."""

from pycompss.api.task import task


@task(returns=object)
def bb(values):
    values.append("from_bb")
    return values


@task(returns=object)
def aa(values):
    values.append("from_aa")
    return values


def app_task(values):
    """A workflow: two tasks, called in the main program (is_workflow=True)."""
    return aa(bb(values))


def appender(values):
    values.append("from_dt")
    return values


def appender_w_param(a_list, tba):
    a_list.append(tba)
    return a_list


def scale(values, factor):
    return [v * factor for v in values]


def ctf(col, data_filename):
    with open(data_filename, "w") as handle:
        handle.writelines(col)
        handle.write(" serialized")


def otf(obj, file_name):
    with open(file_name, "w") as handle:
        handle.write(obj)
        handle.write(" serialized")


def fto(file_name):
    with open(file_name) as handle:
        return handle.read()


def ftc(file_name):
    with open(file_name) as handle:
        return handle.read().split()


def cto(data):
    return " ".join(data)
