"""Print the error catalogue as the Markdown table docs/protocol.md holds.

    .venv/bin/python scripts/error_catalogue.py --write   # rewrite the table in the doc
"""

from __future__ import annotations

import sys
from pathlib import Path

from hearing_server.api.errors import status_of
from hearing_server.domain.errors import CATALOGUE, Kind

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
START, END = "<!-- error catalogue: start -->", "<!-- error catalogue: end -->"


def table() -> str:
    rows = ["| code | kind | HTTP | meaning |", "|---|---|---|---|"]
    for code, spec in CATALOGUE.items():
        http = "—" if spec.kind is Kind.CLIENT else str(status_of(code))
        rows.append(f"| `{code.value}` | {spec.kind.value} | {http} | {spec.meaning} |")
    return "\n".join(rows)


def section(text: str) -> str:
    return text[text.index(START) + len(START):text.index(END)].strip()


def main() -> int:
    if "--write" in sys.argv:
        text = DOC.read_text()
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        DOC.write_text(f"{head}{START}\n{table()}\n{END}{tail}")
    else:
        print(table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
