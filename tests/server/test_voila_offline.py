"""Voila's pages under this server use the MathJax bundled in Voila, not cdnjs's.

The page config is asked from Voila's own ``get_page_config`` with this server's settings
(what ``/voila/render/...`` uses); rendering a page here would start a kernel for nothing.
The browser side of the same rule is ``tests/browser/test_portal_offline.py``.
"""

from __future__ import annotations

import logging
from typing import Any

from voila.configuration import VoilaConfiguration
from voila.utils import get_page_config


async def test_voila_pages_under_the_server_fetch_no_mathjax_from_a_cdn(
        jp_serverapp: Any) -> None:
    settings = jp_serverapp.web_app.settings
    page = get_page_config("/", settings, logging.getLogger("test"),
                           VoilaConfiguration(template="eflows"))
    # both null: Voila's front end then typesets with its bundled MathJax 3
    assert page["fullMathjaxUrl"] is None and page["mathjaxConfig"] is None, page
