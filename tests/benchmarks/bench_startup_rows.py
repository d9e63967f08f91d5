"""The start-up and idle-memory rows, offscreen and under Xvfb, and the import costs."""

from __future__ import annotations

import statistics
from pathlib import Path

from tests.benchmarks.bench_report import Row
from tests.benchmarks.bench_startup import (
    BARE,
    COMPOSER,
    COMPOSER_MAIN,
    RUNS,
    Launches,
    import_costs,
    measure_frozen,
    measure_startup,
    xvfb,
)

STARTUP_RATIO = 1.3
FROZEN_RATIO = 1.5
FROZEN = Path(__file__).parents[2] / "dist" / "composer" / "composer"


def _times(values: list[float]) -> str:
    return f"median {statistics.median(values):.0f} ms (min {min(values):.0f}, {len(values)} runs)"


def _platform_rows(where: str, launches: dict[str, Launches]) -> list[Row]:
    bare = launches[BARE]
    floor = statistics.median(bare.times)
    peer = f"{BARE}: {_times(bare.times)}"
    rows = []
    for name in (COMPOSER, COMPOSER_MAIN):
        ratio = statistics.median(launches[name].times) / floor
        rows.append(
            Row(
                f"start-up to window shown, {where}: {name}",
                f"{_times(launches[name].times)}, {ratio:.2f}× bare",
                f"≤ {STARTUP_RATIO}× bare",
                ratio <= STARTUP_RATIO,
                peer=peer,
            )
        )
    bare_mib = statistics.median(bare.idle_kib) / 1024
    composer_mib = statistics.median(launches[COMPOSER].idle_kib) / 1024
    rows.append(
        Row(
            f"idle memory of the compose window, {where}",
            f"RSS {composer_mib:.0f} MiB (+{composer_mib - bare_mib:.0f} MiB, "
            f"{composer_mib / bare_mib:.2f}× bare)",
            peer=f"bare window: RSS {bare_mib:.0f} MiB",
        )
    )
    return rows


def startup_rows() -> list[Row]:
    """Start-up of Composer against the bare window, offscreen, then under Xvfb."""
    rows = _platform_rows("offscreen", measure_startup(None))
    with xvfb() as display:
        if display is None:
            rows.append(Row("start-up under Xvfb", "skipped: Xvfb is not installed"))
        else:
            rows += _platform_rows("Xvfb", measure_startup(display))
    if FROZEN.exists():
        # Links (PyInstaller makes some for shared libraries) counted once, as du counts them.
        size = sum(f.lstat().st_size for f in FROZEN.parent.rglob("*") if not f.is_dir())
        frozen, from_source = measure_frozen(FROZEN, RUNS)
        ratio = statistics.median(frozen) / statistics.median(from_source)
        rows.append(
            Row(
                "frozen program (dist/composer), start to window shown, offscreen",
                f"{_times(frozen)}, {ratio:.2f}× from source; {size / 2**20:.0f} MiB on disk",
                f"≤ {FROZEN_RATIO}× from source",
                ratio <= FROZEN_RATIO,
                peer=f"`python -m composer` from source: {_times(from_source)}",
            )
        )
    else:
        rows.append(Row("frozen program (dist/composer)", "skipped: not built (make dist)"))
    return rows


def import_notes() -> list[str]:
    """A short list of what importing create_main_window's modules costs, for the report."""
    lines = [
        "Import costs (`python -X importtime -c 'import composer.app, composer.session'`, "
        "bytecode cached), the top modules by their own time:",
        "",
        "| module | self ms | cumulative ms |",
        "|---|---|---|",
    ]
    for name, own, cumulative in import_costs():
        lines.append(f"| `{name}` | {own / 1000:.1f} | {cumulative / 1000:.1f} |")
    return ["\n".join(lines)]
