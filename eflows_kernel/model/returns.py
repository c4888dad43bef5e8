"""How many values a task returns, as PyCOMPSs decides it.

``returns=`` may be a count (``2``, ``"2"``), a type or class (``int``, ``MyClass``,
``FILE``), a tuple of types, a string resolved at each call (``"value_of(self.n)"``,
``"value_of(n)"``, ``"{{param}}"``, the name of a global variable or of a
parameter), or be left out: then the function's return annotation, else its
``return`` statements, tell (``return a, b`` is two values), as PyCOMPSs does.
A call may also override it: ``f(x, returns=3)``.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import textwrap
import typing
from dataclasses import dataclass, field
from typing import Any

from eflows_kernel.model.exceptions import TaskArgumentError, TaskDefinitionError

VALUE_OF = "value_of"
# Types whose placeholder is a plain future (PyCOMPSs' _PYTHON_TO_COMPSS keys).
_PLAIN_FUTURE_TYPES = (int, float, bool, str, tuple, list, dict, object)


@dataclass(frozen=True)
class ReturnsSpec:
    """The decorator's ``returns``, analysed once; :meth:`resolve` decides per call."""

    count: int = 0
    types: tuple[Any, ...] = ()  # one per value when given as types (else empty)
    expression: str | None = None  # a string resolved at call time
    explicit: bool = True  # False: inferred from the function's code
    inferred_from: str = ""
    params: tuple[str, ...] = field(default=())

    def resolve(self, task_name: str, func: Any, arguments: dict[str, Any],
                override: Any = None) -> ResolvedReturns:
        if override is not None:
            return parse_returns(override, task_name, func, self.params).resolve(
                task_name, func, arguments)
        if self.expression is None:
            return ResolvedReturns(self.count, self.types)
        return _resolve_expression(self.expression, task_name, func, arguments)


@dataclass(frozen=True)
class ResolvedReturns:
    count: int
    types: tuple[Any, ...] = ()
    same_as: str | None = None  # "{{param}}": the output is that parameter's object

    def placeholder_class(self, index: int) -> type | None:
        """The user class whose empty instance stands for output ``index``, if any.

        PyCOMPSs returns ``MyClass()`` instead of a bare future when a task declares
        ``returns=MyClass``, so that ``o = make(); o.method()`` calls a task method.
        """
        if index >= len(self.types):
            return None
        declared = self.types[index]
        if not inspect.isclass(declared) or declared in _PLAIN_FUTURE_TYPES:
            return None
        return declared


def parse_returns(value: Any, task_name: str, func: Any,
                  params: tuple[str, ...] = ()) -> ReturnsSpec:
    """Analyse a ``returns=`` value (``None`` when the decorator gave none)."""
    if value is None:
        return infer_returns(func, task_name, params)
    if value is False:
        return ReturnsSpec(0, params=params)
    if value is True:
        return ReturnsSpec(1, params=params)
    if isinstance(value, int):
        if value < 0:
            raise TaskDefinitionError(f"task '{task_name}': returns={value} cannot be "
                                      "negative")
        return ReturnsSpec(value, params=params)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return parse_returns(int(text), task_name, func, params)
        return ReturnsSpec(1, expression=text, params=params)
    if isinstance(value, tuple | list):
        return ReturnsSpec(len(value), types=tuple(value), params=params)
    return ReturnsSpec(1, types=(value,), params=params)  # a type, a class, FILE...


def infer_returns(func: Any, task_name: str, params: tuple[str, ...] = ()) -> ReturnsSpec:
    """PyCOMPSs without ``returns=``: the annotation, else the ``return`` statements."""
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # e.g. "-> (int, str)" under postponed evaluation
        hints = dict(getattr(func, "__annotations__", {}) or {})
        if isinstance(hints.get("return"), str):
            with contextlib.suppress(Exception):
                hints["return"] = eval(hints["return"],
                                       getattr(inspect.unwrap(func), "__globals__", {}))
    if "return" in hints:
        annotation = hints["return"]
        count = len(annotation) if isinstance(annotation, tuple | list) else 1
        return ReturnsSpec(count, explicit=False, inferred_from="annotation", params=params)
    tree = _function_tree(func)
    if tree is None:
        return ReturnsSpec(0, explicit=False, params=params)
    returns = [node for node in ast.walk(tree) if isinstance(node, ast.Return)]
    if not returns:
        return ReturnsSpec(0, explicit=False, inferred_from="code", params=params)
    widths = [len(node.value.elts) for node in returns
              if isinstance(node.value, ast.Tuple | ast.List | ast.Set)]
    count = max(max(widths), 1) if widths else 1
    return ReturnsSpec(count, explicit=False, inferred_from="code", params=params)


def _function_tree(func: Any) -> ast.AST | None:
    target = inspect.unwrap(func)
    try:
        source = textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        return None
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _resolve_expression(text: str, task_name: str, func: Any,
                        arguments: dict[str, Any]) -> ResolvedReturns:
    def fail(why: str) -> TaskArgumentError:
        return TaskArgumentError(f"task '{task_name}': returns={text!r} {why}")

    if text.startswith("{{") and text.endswith("}}"):
        name = text[2:-2].strip()
        if name not in arguments:
            raise fail(f"names no parameter of {task_name}() "
                       f"(parameters: {', '.join(arguments) or 'none'})")
        return ResolvedReturns(1, same_as=name)
    if text.startswith(VALUE_OF):
        reference = text[len(VALUE_OF):].strip().strip("()").strip().split(".")
        if not reference or reference[0] not in arguments:
            raise fail(f"refers to no parameter of {task_name}() "
                       f"(parameters: {', '.join(arguments) or 'none'})")
        value: Any = arguments[reference[0]]
        for attribute in reference[1:]:
            try:
                value = getattr(value, attribute)
            except AttributeError:
                raise fail(f"cannot be read: {type(value).__name__} has no attribute "
                           f"'{attribute}'") from None
        return ResolvedReturns(_count(value, fail))
    globals_ = getattr(inspect.unwrap(func), "__globals__", {})
    if text in globals_:
        return ResolvedReturns(_count(globals_[text], fail))
    if text in arguments:
        return ResolvedReturns(_count(arguments[text], fail))
    raise fail("is neither a number, value_of(param), {{param}}, a global variable nor "
               "a parameter name")


def _count(value: Any, fail: Any) -> int:
    if getattr(type(value), "__eflows_future__", False):
        raise fail("depends on the output of another task; the number of returns must "
                   "be known when the task is called (synchronise it first)")
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise fail(f"gives {value!r}, which is not a number of values") from None
    if count < 0:
        raise fail(f"gives {count}, which cannot be negative")
    return count
