"""``pycompss.util.typing_helper``: PyCOMPSs code writes ``typing.List[...]`` through it."""

import typing
