"""The plain smtplib peer: read .eml files as EmailMessage and send them over one connection.

Run as ``python tests/benchmarks/peer_smtplib.py PORT FILE...`` (a script, not a module of
the package, so it imports nothing of Composer's or of the benchmarks'). It is what a user
would write: ``email.message_from_binary_file(policy=default)`` and ``SMTP.send_message``.
Prints one JSON line: when the work began (time.monotonic(), after the imports), resident
memory then, and the process's peak during the work (VmHWM, reset when the work began).
"""

from __future__ import annotations

import email
import email.policy
import json
import smtplib
import sys
import time
from email.message import EmailMessage


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1])


def main() -> None:
    port, files = int(sys.argv[1]), sys.argv[2:]
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # VmHWM starts again from the current resident size
    before = _status_kib("VmRSS")
    start = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="peer.test", timeout=120) as smtp:
        for name in files:
            with open(name, "rb") as file:
                message = email.message_from_binary_file(file, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            smtp.send_message(message)
    report = {"start": start, "rss_kib": before, "peak_kib": _status_kib("VmHWM")}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
