"""Write the JSON Schemas of abroad's outputs into docs/reference/schemas/ (from the result
models in ``abroad.results``). tests/test_schemas.py fails when a committed schema is stale.

    .venv/bin/python tools/write_schemas.py
"""

from __future__ import annotations

import json
from pathlib import Path

from abroad.results import json_schemas

OUT = Path(__file__).resolve().parents[1] / "docs" / "reference" / "schemas"


def schema_text(schema: dict[str, object]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (OUT / name).write_text(schema_text(schema), encoding="utf-8")
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
