"""The listener the browser comes back to after signing in, on 127.0.0.1, driven over HTTP."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable

import pytest

from composer.mail.errors import SignInFailed
from composer.mail.oauth_redirect import LoopbackRedirect


def get(redirect_uri: str, target: str) -> tuple[int, str]:
    port = urllib.parse.urlsplit(redirect_uri).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8")
    finally:
        connection.close()


def waiting(
    redirect: LoopbackRedirect, cancelled: Callable[[], bool] = lambda: False
) -> dict[str, object]:
    """redirect.wait() on a thread, as Composer runs it; the outcome lands in the dict."""
    outcome: dict[str, object] = {}

    def wait() -> None:
        try:
            outcome["url"] = redirect.wait(cancelled)
        except SignInFailed as error:
            outcome["error"] = error

    thread = threading.Thread(target=wait)
    thread.start()
    outcome["thread"] = thread
    return outcome


def ended(outcome: dict[str, object]) -> dict[str, object]:
    thread = outcome["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join(10)
    assert not thread.is_alive()
    return outcome


def test_the_code_with_the_right_state_ends_the_wait_and_the_listener() -> None:
    redirect = LoopbackRedirect("s3cret-state", timeout=30)
    uri = redirect.redirect_uri
    assert uri.startswith("http://127.0.0.1:")
    assert uri.endswith("/")
    outcome = waiting(redirect)
    assert get(uri, "/favicon.ico")[0] == 404  # a browser's side request: still waiting
    status, page = get(uri, "/?code=abc&state=s3cret-state&scope=x")
    assert status == 200
    assert "close this tab" in page
    assert ended(outcome)["url"] == f"{uri}?code=abc&state=s3cret-state&scope=x"
    with pytest.raises(ConnectionRefusedError):
        get(uri, "/?code=again&state=s3cret-state")  # closed: exactly one request


def test_a_wrong_state_ends_the_attempt_and_is_not_taken() -> None:
    redirect = LoopbackRedirect("expected", timeout=30)
    outcome = waiting(redirect)
    status, page = get(redirect.redirect_uri, "/?code=stolen&state=forged")
    assert status == 400
    assert "was not waiting" in page
    error = ended(outcome)["error"]
    assert isinstance(error, SignInFailed)
    assert "did not start" in str(error)
    assert "url" not in outcome


def test_an_error_reply_is_worded_with_the_providers_text_as_plain_text() -> None:
    redirect = LoopbackRedirect("st", timeout=30)
    outcome = waiting(redirect)
    query = urllib.parse.urlencode(
        {"error": "access_denied", "error_description": "<b>No</b>\x1b[31m", "state": "st"}
    )
    status, page = get(redirect.redirect_uri, "/?" + query)
    assert status == 200
    assert "<b>No" not in page
    error = str(ended(outcome)["error"])
    assert "declined" in error
    assert "<b>No</b>\\x1b[31m" in error  # the escape character shown, not obeyed


def test_nothing_within_the_time_ends_the_attempt() -> None:
    redirect = LoopbackRedirect("st", timeout=0.3)
    error = ended(waiting(redirect))["error"]
    assert "within 1 minute" in str(error)


def test_cancel_ends_the_wait_and_frees_the_port() -> None:
    stop = threading.Event()
    redirect = LoopbackRedirect("st", timeout=30)
    port = urllib.parse.urlsplit(redirect.redirect_uri).port
    outcome = waiting(redirect, stop.is_set)
    time.sleep(0.2)
    stop.set()
    assert "cancelled" in str(ended(outcome)["error"])
    probe = socket.socket()
    try:
        assert probe.connect_ex(("127.0.0.1", port or 0)) != 0
    finally:
        probe.close()


def test_a_connection_that_sends_nothing_does_not_hold_up_the_real_one() -> None:
    redirect = LoopbackRedirect("st", timeout=30)
    port = urllib.parse.urlsplit(redirect.redirect_uri).port
    outcome = waiting(redirect)
    idle = socket.create_connection(("127.0.0.1", port or 0))  # a browser's speculative one
    try:
        assert get(redirect.redirect_uri, "/?code=c&state=st")[0] == 200
        assert "url" in ended(outcome)
    finally:
        idle.close()


def test_the_browser_is_not_told_it_is_signed_in_before_composer_knows() -> None:
    redirect = LoopbackRedirect("st", timeout=30)
    outcome = waiting(redirect)
    page = get(redirect.redirect_uri, "/?code=c&state=st")[1]
    assert "signed in" not in page.lower().replace("sign-in", "")
    assert "which says whether it worked" in page
    ended(outcome)


def test_idle_connections_from_other_programs_hold_a_few_threads_at_most() -> None:
    redirect = LoopbackRedirect("st", timeout=30)
    port = urllib.parse.urlsplit(redirect.redirect_uri).port or 0
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
    try:
        time.sleep(0.5)
        assert threading.active_count() - before <= 16 * 2  # a handler and its deadline each
    finally:
        for connection in idle:
            connection.close()
    redirect.close()


def test_a_request_that_trickles_in_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from composer.mail import oauth_redirect

    monkeypatch.setattr(oauth_redirect, "_REQUEST_TIMEOUT", 1.0)
    redirect = LoopbackRedirect("st", timeout=30)
    port = urllib.parse.urlsplit(redirect.redirect_uri).port or 0
    slow = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    try:
        closed = False
        for byte in b"GET /?state=st&code=c HTTP/1.1\r\n" * 10:
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            slow.settimeout(0.2)
            try:
                if slow.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed
        assert time.monotonic() - started < 20  # the whole trickle would take over a minute
    finally:
        slow.close()
        redirect.close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_localhost_redirect_holds_the_same_port_on_ipv6_too() -> None:
    redirect = LoopbackRedirect("st", timeout=30, host_name="localhost")
    assert redirect.redirect_uri.startswith("http://localhost:")
    port = urllib.parse.urlsplit(redirect.redirect_uri).port or 0
    outcome = waiting(redirect)
    squatter = socket.socket(socket.AF_INET6)
    try:
        with pytest.raises(OSError, match="in use"):
            squatter.bind(("::1", port))
    finally:
        squatter.close()
    connection = http.client.HTTPConnection("::1", port, timeout=5)
    try:
        connection.request("GET", "/?code=c&state=st")
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    assert ended(outcome)["url"] == f"http://localhost:{port}?code=c&state=st"
