from pycompss.api.parameter import IN
from pycompss.api.task import task


class Square:
    """A user class with an empty constructor, as PyCOMPSs asks for returned classes."""

    def __init__(self):
        self.side = 1
        self.history = []

    @task()
    def grow(self, by):
        self.side += by
        self.history.append(by)

    @task(target_direction=IN, returns="value_of(self.side)")
    def corners(self):
        return tuple((i, i) for i in range(self.side))

    @task(target_direction=IN)
    def area(self) -> int:
        return self.side * self.side

    @classmethod
    @task(returns=1)
    def unit(cls, label):
        return f"{cls.__name__}:{label}"

    @staticmethod
    @task(returns=1)
    def perimeter_of(side):
        return 4 * side


@task(returns=Square)
def make_square(side):
    square = Square()
    square.side = side
    return square
