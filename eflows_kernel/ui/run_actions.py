"""Removing a finished run from the jobs list: Archive (kept as a .tar.gz) or Delete.

Delete loses the run's record, log and outputs for good, so it asks once more; Archive
loses nothing and goes at once. Both are offered only once the run has finished (the
services refuse an unfinished run too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from eflows_kernel.client.protocol import Client
from eflows_kernel.ui.common import MessageArea, guarded

_AUTO = widgets.Layout


class RemoveRunButtons(widgets.HBox):
    """Archive / Delete (confirmed) for one run; ``on_removed(execution_id)`` after."""

    def __init__(self, client: Client, execution_id: str, message: MessageArea,
                 on_removed: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.execution_id = execution_id
        self.message = message
        self.on_removed = on_removed
        self.archive_button = widgets.Button(description="Archive", icon="archive",
                                             tooltip="Keep it as a .tar.gz and remove it "
                                                     "from the list", layout=_AUTO(width="auto"))
        self.delete_button = widgets.Button(description="Delete", icon="trash",
                                            layout=_AUTO(width="auto"))
        self.confirm_button = widgets.Button(description="Yes, delete this run",
                                             button_style="danger",
                                             layout=_AUTO(width="auto", display="none"))
        self.keep_button = widgets.Button(description="Keep it",
                                          layout=_AUTO(width="auto", display="none"))
        self.archive_button.on_click(lambda _b: self.archive())
        self.delete_button.on_click(lambda _b: self.ask_delete())
        self.confirm_button.on_click(lambda _b: self.delete())
        self.keep_button.on_click(lambda _b: self._hide_confirm())
        super().__init__([self.archive_button, self.delete_button, self.confirm_button,
                          self.keep_button], layout=_AUTO(flex_flow="row wrap"))
        self.show_for(None)

    def show_for(self, execution: Any) -> None:
        """Offered only for a finished run."""
        finished = bool(execution is not None and execution.finished)
        self.layout.display = None if finished else "none"

    def ask_delete(self) -> None:
        self.confirm_button.layout.display = self.keep_button.layout.display = None
        self.delete_button.layout.display = "none"
        self.message.info("Delete this run? Its record, log and outputs are removed for good "
                          "(Archive keeps them).")

    def _hide_confirm(self) -> None:
        self.confirm_button.layout.display = self.keep_button.layout.display = "none"
        self.delete_button.layout.display = None
        if self.message.text.startswith("Delete this run?"):
            self.message.clear()

    def delete(self) -> bool:
        self._hide_confirm()
        ok, _ = guarded(self.message, self.client.runs.delete, self.execution_id)
        if ok:
            self.message.info(f"Deleted {self.execution_id}.")
            self._removed()
        return ok

    def archive(self) -> str | None:
        self._hide_confirm()
        ok, path = guarded(self.message, self.client.runs.archive, self.execution_id)
        if not ok or path is None:
            return None
        self.message.info(f"Archived {self.execution_id} to {path}.")
        self._removed()
        return path

    def _removed(self) -> None:
        if self.on_removed is not None:
            self.on_removed(self.execution_id)


__all__ = ["RemoveRunButtons"]
