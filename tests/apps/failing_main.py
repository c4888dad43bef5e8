"""A PyCOMPSs application whose main program raises after one task.

Usage:
    eflows-run --workers 2 tests/apps/failing_main.py
"""

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def double(x):
    return 2 * x


def main():
    value = compss_wait_on(double(21))
    print(f"task gave {value}")
    raise RuntimeError("main broke")  # FAILING_MAIN_RAISE_LINE


if __name__ == "__main__":
    main()
