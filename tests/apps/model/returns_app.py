"""returns= in every form PyCOMPSs accepts."""
import json
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task
from shapes.square import Square, make_square

PAIRS = 2


@task()
def add(a, b):
    return a + b


@task()
def split(value):
    half = value // 2
    return half, value - half


@task()
def annotated(value) -> (int, int, int):
    return value, value + 1, value + 2


@task()
def nothing(value):
    print("nothing to give back", value)


@task(returns="PAIRS")
def pairs():
    return "left", "right"


@task(returns="value_of(n)")
def first_numbers(n):
    return list(range(n))


@task(returns="{{box}}")
def stamp(box):
    box.append("stamped")
    return box


@task(returns=1)
def echo(value):
    return value


def main():
    out = {}
    out["add"] = compss_wait_on(add(2, 3))
    halves = split(9)
    out["split"] = [type(halves).__name__, len(halves), compss_wait_on(halves)]
    out["annotated"] = compss_wait_on(annotated(5))
    out["nothing"] = compss_wait_on(nothing(1))
    out["pairs"] = compss_wait_on(pairs())
    out["value_of_n"] = compss_wait_on(first_numbers(3))
    box = []
    same = stamp(box)
    out["same_object"] = same is box
    out["stamped"] = compss_wait_on(box)
    out["call_returns"] = compss_wait_on(echo((7, 8), returns=2))

    square = Square()
    square.grow(2)
    square.grow(1)
    out["area"] = compss_wait_on(square.area())  # runs after both grow tasks
    square = compss_wait_on(square)
    out["square"] = [square.side, square.history]
    # value_of reads the main program's object: synchronised above, so side == 4.
    corners = square.corners()
    out["corners"] = [len(corners), compss_wait_on(corners)]
    made = make_square(3)
    out["made_is_square"] = isinstance(made, Square)
    made.grow(2)
    made = compss_wait_on(made)
    out["made"] = [made.side, made.history]
    out["unit"] = compss_wait_on(Square.unit("m"))
    out["perimeter"] = compss_wait_on(Square.perimeter_of(5))
    print("RESULT " + json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
