"""Fixtures shared by all tests: a trusted test CA, an in-memory keyring and real SMTP servers."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
import trustme
from hypothesis import HealthCheck, settings

from composer.mail.sandbox import SandboxServer
from tests.config_servers import dns, documents, plain_documents  # noqa: F401
from tests.dovecot import Dovecot, needs_dovecot, running_dovecot
from tests.keyrings import MemoryKeyring
from tests.oauth_server import oauth_server, oauth_smtp_server  # noqa: F401
from tests.servers import (
    SilentServer,
    SmtpServer,
    implicit_tls_server,
    plaintext_server,
    running,
    server_tls_context,
    starttls_server,
)
from tests.windows import (  # noqa: F401
    answer_questions,
    clock,
    config_dir,
    make_window,
    own_icons,
    send_at_once,
    unsaved_messages_discarded,
)

# Property tests must not depend on the machine's speed: a loaded CI machine generates examples
# slowly, which is not a failure. Each test's own @settings inherit this.
settings.register_profile("composer", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("composer")


@pytest.fixture(autouse=True)
def _collect_garbage_on_main_thread() -> Iterator[None]:
    """Collect between tests on the main thread; the app collects only on its GUI thread too.

    An automatic collection starting in a worker or server thread could free a Qt widget
    there and crash (composer/ui/garbage.py says why), so it is off while a test runs and
    back on afterwards if it was on; between tests only the main thread runs Python code.
    """
    enabled = gc.isenabled()
    gc.disable()
    yield
    gc.collect()
    # Kept for the rest of the run, on purpose: what survived is long-lived (modules, caches,
    # the QApplication), and unfrozen it is scanned again by every later collection. Measured
    # here with the freeze undone after each test, the suite took 107-119 s instead of 36-46 s.
    gc.freeze()
    if enabled:
        gc.enable()


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """The certificate authority the app under test trusts (and nothing else)."""
    return trustme.CA()


@pytest.fixture(scope="session")
def _tls_ca_paths(
    tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """tls_ca's certificate as a PEM file, and an empty certificate directory."""
    folder = tmp_path_factory.mktemp("ca")
    path = folder / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    empty = folder / "certs"
    empty.mkdir()
    return path, empty


@pytest.fixture(autouse=True)
def trusted_ca_file(_tls_ca_paths: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make ssl.create_default_context() trust tls_ca only; returns the CA file.

    OpenSSL reads SSL_CERT_FILE and SSL_CERT_DIR each time a context loads its default paths
    (checked with OpenSSL 3.0), so setting them per test works; the empty directory keeps the
    system's CAs out.
    """
    path, empty = _tls_ca_paths
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    monkeypatch.setenv("SSL_CERT_DIR", str(empty))
    return path


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Passwords go to a dict for the duration of the test, never to the OS keyring."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def no_keyring(memory_keyring: MemoryKeyring) -> keyring.backends.fail.Keyring:
    """A system without any keyring (what keyring picks when it finds no backend)."""
    backend = keyring.backends.fail.Keyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def smtp_server(tls_ca: trustme.CA) -> Iterator[SmtpServer]:
    """STARTTLS required, then AUTH PLAIN/LOGIN required; certificate from tls_ca."""
    with running(starttls_server(server_tls_context(tls_ca))) as server:
        yield server


@pytest.fixture
def smtps_server(tls_ca: trustme.CA) -> Iterator[SmtpServer]:
    """Implicit TLS (port 465 style), AUTH required; certificate from tls_ca."""
    with running(implicit_tls_server(server_tls_context(tls_ca))) as server:
        yield server


@pytest.fixture
def plain_server() -> Iterator[SmtpServer]:
    """No TLS at all, AUTH offered over plaintext."""
    with running(plaintext_server()) as server:
        yield server


@pytest.fixture
def untrusted_server() -> Iterator[SmtpServer]:
    """Like smtp_server, but its certificate comes from a CA nobody trusts."""
    with running(starttls_server(server_tls_context(trustme.CA()))) as server:
        yield server


@pytest.fixture
def dovecot(tls_ca: trustme.CA) -> Iterator[Dovecot]:
    """A private Dovecot on 127.0.0.1 (STARTTLS and implicit TLS) marking Sent as \\Sent."""
    needs_dovecot()
    with running_dovecot(tls_ca) as server:
        yield server


@pytest.fixture
def unmarked_dovecot(tls_ca: trustme.CA) -> Iterator[Dovecot]:
    """Like dovecot, but no folder is marked \\Sent (no SPECIAL-USE attributes)."""
    needs_dovecot()
    with running_dovecot(tls_ca, special_use=False) as server:
        yield server


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """The embedded sandbox server, storing into a Maildir under tmp_path."""
    server = SandboxServer(tmp_path / "Maildir")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """Accepts connections on 127.0.0.1 and never says a word."""
    server = SilentServer().start()
    try:
        yield server
    finally:
        server.stop()
