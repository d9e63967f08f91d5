"""The table `make bench` prints and writes: one row per measurement, its peer, goal, verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass(frozen=True)
class Row:
    """One measurement; verdict is True (goal met), False (missed) or None (no goal)."""

    name: str
    measured: str
    goal: str = ""
    verdict: bool | None = None
    details: str = ""  # printed below the table, e.g. where a stall happened
    peer: str = ""  # the peer or floor measured in the same run


def verdict_text(verdict: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "reported"}[verdict]


def table(rows: list[Row]) -> str:
    """rows as an aligned Markdown table."""
    cells = [("what", "peer / floor in the same run", "measured", "goal", "verdict")]
    cells += [(r.name, r.peer, r.measured, r.goal, verdict_text(r.verdict)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(5)]
    lines = []
    for number, line in enumerate(cells):
        lines.append(
            "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        )
        if number == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def report(header: list[str], rows: list[Row], notes: list[str]) -> str:
    """The whole report: what machine and versions, the table, then details and notes."""
    parts = ["\n".join(f"- {line}" for line in header), table(rows)]
    parts += [f"{row.name}:\n```\n{row.details.rstrip()}\n```" for row in rows if row.details]
    parts += notes
    return "\n\n".join(parts) + "\n"


def publish(header: list[str], rows: list[Row], notes: list[str]) -> None:
    """Print the report and write it to RESULTS.md beside the benchmarks."""
    text = report(header, rows, notes)
    print(text)
    RESULTS.write_text("# `make bench` results\n\n" + text)
