"""``python -m eflows_kernel.events``: regenerate docs/event-schema.json."""

import json
import pathlib

from eflows_kernel.events.schema import event_json_schema

target = pathlib.Path(__file__).resolve().parents[2] / "docs" / "event-schema.json"
target.write_text(json.dumps(event_json_schema(), indent=2) + "\n")
print(f"wrote {target}")
