"""Declaring a Python file's inputs by hand (name, type, default, description), for a
file whose inputs cannot be read from an argparse definition."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

TYPES = ["string", "integer", "float", "boolean", "path", "list", "map"]


class InputRow(widgets.HBox):
    def __init__(self, on_remove: Any) -> None:
        self.name = widgets.Text(placeholder="name", layout=widgets.Layout(width="140px"))
        self.type = widgets.Dropdown(options=TYPES, value="string",
                                     layout=widgets.Layout(width="100px"))
        self.default = widgets.Text(placeholder="default (empty: required)",
                                    layout=widgets.Layout(width="190px"))
        self.description = widgets.Text(placeholder="description",
                                        layout=widgets.Layout(width="220px"))
        self.remove_button = widgets.Button(icon="times", tooltip="Remove this input",
                                            layout=widgets.Layout(width="36px"))
        self.remove_button.on_click(lambda _b: on_remove(self))
        super().__init__([self.name, self.type, self.default, self.description,
                          self.remove_button], layout=widgets.Layout(flex_flow="row wrap"))

    def value(self) -> dict[str, Any] | None:
        name = self.name.value.strip()
        if not name:
            return None
        item: dict[str, Any] = {"name": name, "type": self.type.value,
                                "description": self.description.value.strip()}
        if self.default.value.strip():
            item.update(default=self.default.value.strip(), required=False)
        return item


class InputEditor(widgets.VBox):
    """Rows of inputs; ``inputs()`` is the list to register (None: none declared here,
    so the file's argparse definition, if any, is read instead)."""

    def __init__(self) -> None:
        self.rows: list[InputRow] = []
        self.add_button = widgets.Button(description="Add input", icon="plus",
                                         layout=widgets.Layout(width="auto"))
        self.add_button.on_click(lambda _b: self.add())
        self.box = widgets.VBox()
        super().__init__([self.box, self.add_button])

    def add(self, name: str = "", type_: str = "string", default: str = "",
            description: str = "") -> InputRow:
        row = InputRow(self.remove)
        row.name.value, row.type.value = name, type_
        row.default.value, row.description.value = default, description
        self.rows.append(row)
        self.box.children = list(self.rows)
        return row

    def remove(self, row: InputRow) -> None:
        self.rows = [r for r in self.rows if r is not row]
        self.box.children = list(self.rows)
        row.close()

    def inputs(self) -> list[dict[str, Any]] | None:
        declared = [v for v in (r.value() for r in self.rows) if v is not None]
        return declared or None

    def clear(self) -> None:
        for row in list(self.rows):
            self.remove(row)


__all__ = ["InputEditor"]
