"""A private Dovecot IMAP server on 127.0.0.1 for tests: its own config, ports, users and Maildir.

Debian's dovecot-core and dovecot-imapd give the binary (``.ci/run`` installs them). The
instance touches nothing of the system's /etc/dovecot: config, base_dir, log and mail all live
in one temporary folder. It serves STARTTLS on one port and implicit TLS on another, with a
certificate from the tests' CA, and marks ``Sent`` as ``\\Sent`` (RFC 6154) unless told not to.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.servers import PASSWORD, USERNAME

HOST = "127.0.0.1"
_START_WAIT = 10.0


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None
    )


def needs_dovecot() -> None:
    """Skip without Dovecot, except under CI (the CI variable set), which must run them."""
    if dovecot_binary() is not None:
        return
    message = "Dovecot is not installed here: apt-get install dovecot-core dovecot-imapd"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI must run the IMAP tests, but {message}", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Dovecot:
    """One running instance; ``messages(folder)`` reads what it stored, byte for byte."""

    def __init__(
        self,
        ca: trustme.CA,
        *,
        special_use: bool = True,
        username: str = USERNAME,
        password: str = PASSWORD,
    ) -> None:
        # Its own folder, not the test's: the unprivileged mail user must be able to reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="composer-dovecot-"))
        self.host = HOST
        self.username = username
        self.password = password
        self.special_use = special_use
        self.maildir = self.folder / "Maildir"
        self.starttls_port = _free_port()
        self.tls_port = _free_port()
        self._ca = ca
        self._process: subprocess.Popen[bytes] | None = None

    # --- running ----------------------------------------------------------------------------

    def start(self) -> Dovecot:
        binary = dovecot_binary()
        assert binary, "dovecot is not installed"
        config = self._write_config()
        with (self.folder / "stderr.log").open("wb") as errors:
            self._process = subprocess.Popen(
                [binary, "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,  # its own process group, so that stop() ends all of it
            )
        deadline = time.monotonic() + _START_WAIT
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()  # and its folder with it
                raise RuntimeError(f"Dovecot did not start:\n{log}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        # Its children (auth, imap, log…) are in its group; make sure none outlives it.
        deadline = time.monotonic() + 5
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _answers(self) -> bool:
        for port in (self.starttls_port, self.tls_port):
            try:
                with socket.create_connection((HOST, port), timeout=0.5) as sock:
                    sock.settimeout(0.5)
                    if port == self.starttls_port and not sock.recv(64).startswith(b"* OK"):
                        return False
            except OSError:
                return False
        return True

    def log(self) -> str:
        texts = []
        for name in ("dovecot.log", "stderr.log"):
            with contextlib.suppress(OSError):
                texts.append((self.folder / name).read_text("utf-8", "replace"))
        return "\n".join(texts)

    # --- what it stored ---------------------------------------------------------------------

    def messages(self, folder: str = "Sent") -> list[bytes]:
        """Each message stored in folder, oldest first, as Dovecot keeps it."""
        return [body for body, _ in self.stored(folder)]

    def stored(self, folder: str = "Sent") -> list[tuple[bytes, str]]:
        """Each message in folder with its Maildir flags (``S`` for \\Seen), oldest first."""
        box = self.maildir if folder == "INBOX" else self.maildir / f".{folder}"
        found: list[tuple[float, bytes, str]] = []
        for sub in ("cur", "new"):
            for path in (box / sub).glob("*") if (box / sub).is_dir() else ():
                flags = path.name.partition(":2,")[2]
                found.append((path.stat().st_mtime, path.read_bytes(), flags))
        found.sort(key=lambda item: item[0])
        return [(body, flags) for _, body, flags in found]

    def create(self, wire: str) -> None:
        """Make the folder wire (its name as it goes over IMAP, modified UTF-7)."""
        with self._session() as imap:
            typ, data = imap.create(f'"{wire}"')
            assert typ == "OK", data

    def _session(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cadata=self._ca.cert_pem.bytes().decode())
        imap = imaplib.IMAP4_SSL(HOST, self.tls_port, ssl_context=context, timeout=10)
        imap.authenticate("PLAIN", lambda _: f"\0{self.username}\0{self.password}".encode())
        return imap

    def fetch_all(self, folder: str = "Sent") -> list[bytes]:
        """Each message in folder as the server gives it over IMAP (FETCH BODY.PEEK[]); folder
        as it goes over IMAP."""
        with self._session() as imap:
            imap.select(f'"{folder}"', readonly=True)
            _, data = imap.search(None, "ALL")
            bodies = []
            for number in data[0].split():
                _, parts = imap.fetch(number, "(BODY.PEEK[])")
                bodies.append(bytes(parts[0][1]))  # type: ignore[index]
            return bodies

    # --- configuration ----------------------------------------------------------------------

    def _write_config(self) -> Path:
        folder = self.folder
        for sub in ("run", "state", "home"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        self.maildir.mkdir(exist_ok=True)
        cert = self._ca.issue_cert(HOST, "localhost")
        cert.cert_chain_pems[0].write_to_path(str(folder / "server.crt"))
        for pem in cert.cert_chain_pems[1:]:
            with (folder / "server.crt").open("ab") as stream:
                stream.write(pem.bytes())
        cert.private_key_pem.write_to_path(str(folder / "server.key"))
        os.chmod(folder / "server.key", 0o600)
        (folder / "passwd").write_text(
            f"{self.username}:{{PLAIN}}{self.password}::::::\n", encoding="utf-8"
        )
        uid, gid = _mail_user()
        # Dovecot never lets IMAP run as root: its mail processes work as an unprivileged
        # user, who must reach the Maildir (the folder is traversable, the Maildir theirs).
        os.chmod(folder, 0o711)  # noqa: S103 - traversable, not readable
        os.chown(self.maildir, uid, gid)
        os.chown(folder / "home", uid, gid)
        special = "special_use = \\Sent" if self.special_use else ""
        user = _user_lines(uid)
        text = f"""
instance_name = composer-test-{self.starttls_port}
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = {HOST}
ssl = yes
ssl_cert = <{folder}/server.crt
ssl_key = <{folder}/server.key
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
# A wrong password is answered sooner (2 seconds by default); a second failure from the same
# address still waits some 4 seconds (the auth penalty), so tests fail a login sparingly.
auth_failure_delay = 0
mail_location = maildir:{self.maildir}
first_valid_uid = {min(uid, 500)}
last_valid_uid = 0
{user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/home
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.tls_port}
    ssl = yes
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    {special}
    auto = subscribe
  }}
  mailbox "Sent Items" {{
    auto = subscribe
  }}
}}
"""
        path = folder / "dovecot.conf"
        path.write_text(text, encoding="utf-8")
        return path


def _mail_user() -> tuple[int, int]:
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    import pwd

    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def _user_lines(uid: int) -> str:
    if os.getuid() == 0:
        # Its auth processes run as the dovecot user otherwise, who cannot reach a private
        # temporary folder to read the passwd file.
        return "service auth {\n  user = root\n}\nservice auth-worker {\n  user = root\n}\n"
    import pwd

    name = pwd.getpwuid(os.getuid()).pw_name
    return f"default_internal_user = {name}\ndefault_login_user = {name}\n"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def running_dovecot(ca: trustme.CA, *, special_use: bool = True) -> Iterator[Dovecot]:
    server = Dovecot(ca, special_use=special_use)
    server.start()
    try:
        yield server
    finally:
        server.stop()
