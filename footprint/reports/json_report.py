"""JSON rendering: sorted keys, no generation time, stable floats: same data -> same bytes."""

from __future__ import annotations

import json


def render_json(report: dict) -> str:
    return json.dumps(report, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
