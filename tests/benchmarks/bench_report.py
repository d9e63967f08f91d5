"""The table `make bench` prints: one row per measurement, with its goal and verdict."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One measurement; verdict is True (goal met), False (missed) or None (no goal)."""

    name: str
    measured: str
    goal: str = ""
    verdict: bool | None = None
    details: str = ""  # printed below the table, e.g. where a stall happened


def verdict_text(verdict: bool | None) -> str:
    return {True: "PASS", False: "MISS", None: ""}[verdict]


def print_table(rows: list[Row]) -> None:
    """Print rows as an aligned, Markdown-compatible table."""
    cells = [("benchmark", "measured", "goal", "verdict")]
    cells += [(r.name, r.measured, r.goal, verdict_text(r.verdict)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    for number, line in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if number == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        if row.details:
            print(f"\n{row.name}:\n{row.details.rstrip()}")
