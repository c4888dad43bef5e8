"""Tracebacks as people read them: Dask noise out, user frames first, once."""

from __future__ import annotations

from eflows_kernel.ui.errors import clean_error, error_html, error_view

USER = "/home/alice/app.py"
TRACE = f"""Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/distributed/worker.py", line 3000, in run
    result = function(*args)
  File "{USER}", line 30, in broken
    raise ValueError(f"bad input {{value}}")
ValueError: bad input 42"""
OUTPUT = f"""the application exited with status 1:
2026-12-01 09:00:00,123 - distributed.worker - WARNING - Compute Failed
Key:       broken-5f5f
State:     executing
Task:  <Task 'broken-5f5f' broken(...)>
Exception: "ValueError('bad input 42')"
Traceback: '  File "{USER}", line 30, in broken\\n'

{TRACE}
{TRACE}
"""


def test_dask_reports_and_repeated_tracebacks_are_dropped() -> None:
    cleaned = clean_error(OUTPUT)
    assert "Compute Failed" not in cleaned and "Key:" not in cleaned
    assert "State:" not in cleaned
    assert cleaned.count("Traceback (most recent call last):") == 1
    assert cleaned.count("ValueError: bad input 42") == 1


def test_the_headline_is_the_exception_and_user_frames_come_first() -> None:
    view = error_view(OUTPUT)
    assert view.headline == "ValueError: bad input 42"
    assert view.user_frames == [f'File "{USER}", line 30, in broken\n'
                                '    raise ValueError(f"bad input {value}")']
    html = error_html(OUTPUT)
    assert html.index("ValueError: bad input 42") < html.index("app.py")
    assert html.index("app.py") < html.index("Full error")
    assert "<pre" in html and "site-packages" in html.split("Full error")[1]


def test_no_error_no_html() -> None:
    assert error_html(None) == "" and error_html("") == ""
