"""Resident memory of this process, from /proc (Linux), with a resettable peak.

Why not ru_maxrss: it only ever grows, so within one process it would still hold the peak of
start-up. VmHWM can be reset to the current RSS by writing "5" to /proc/self/clear_refs
(Linux 4.0+), so the peak of one send is VmHWM after it minus VmRSS just before it. Each send
also runs in a fresh process, so one size's allocator state never carries into the next.
"""

from __future__ import annotations

PAGE_KIB = 4  # x86-64 and arm64 Linux


def rss_kib() -> int:
    """Resident set size now (cheap enough to read every few milliseconds)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_KIB


def peak_kib() -> int:
    """The highest resident set size since start or the last reset_peak()."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1])


def reset_peak() -> None:
    """Make peak_kib() start again from the current resident set size."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
