"""Writes the admin API's OpenAPI document, generated from functions/admin/app.py, to docs/openapi.json.

    .venv/bin/python -m functions.admin.openapi          # rewrite docs/openapi.json
    .venv/bin/python -m functions.admin.openapi --check  # exit 1 if docs/openapi.json is stale

tests/unit/test_admin_openapi.py fails while the committed copy differs from what the code generates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = PROJECT_ROOT / "docs" / "openapi.json"


def generated() -> str:
    # The layer is on the path in Lambda and in pytest; a plain `python -m` needs it added.
    layer = str(PROJECT_ROOT / "layers" / "shared")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    import functions.admin.app  # noqa: F401 - registers the routes
    from customer_sync.handlers.admin_api import openapi_json

    return openapi_json() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only compare with docs/openapi.json")
    args = parser.parse_args(argv)
    text = generated()
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != text:
            print("docs/openapi.json is stale; run: python -m functions.admin.openapi", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
