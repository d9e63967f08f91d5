"""Which authorization servers and client registrations Composer signs in with: the "oauth"
part of settings.json, the environment, and a distributor's built-in file, in that order of
strength (the environment wins)."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from composer.mail.oauth_servers import OAUTH_SERVERS, OAuthClient, OAuthServer
from composer.mail.oauth_settings import SERVER_TEXTS, OAuthSettings, clients_from_json

if TYPE_CHECKING:
    from composer.mail.accounts import Account

log = logging.getLogger(__name__)

# A distributor's client registrations, built into the package (see the README).
BUILT_IN_CLIENTS = "oauth_clients.json"


@functools.cache
def _built_in_clients() -> dict[str, OAuthClient]:
    try:
        text = resources.files("composer").joinpath(BUILT_IN_CLIENTS).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    try:
        return clients_from_json(json.loads(text))
    except ValueError:
        log.warning("the built-in %s is not JSON; it is ignored", BUILT_IN_CLIENTS)
        return {}


class OAuthRegistry:
    """The servers and clients in force: built-in facts, settings, environment, built-in file."""

    def __init__(
        self,
        settings: OAuthSettings,
        environ: Mapping[str, str] | None = None,
        built_in: Mapping[str, OAuthClient] | None = None,
    ) -> None:
        self._settings = settings
        self._environ = os.environ if environ is None else environ
        self._built_in = _built_in_clients() if built_in is None else built_in

    def server(self, key: str) -> OAuthServer | None:
        if not key:
            return None
        changes = self._settings.servers.get(key, {})
        known = OAUTH_SERVERS.get(key)
        if known is None:
            known = _whole_server(key, changes)
            if known is None:
                return None
        # An empty revocation endpoint says the server has none; the others must be set.
        texts = {n: changes[n] for n in SERVER_TEXTS if changes.get(n)}
        if "revocation_endpoint" in changes:
            texts["revocation_endpoint"] = changes["revocation_endpoint"]
        scopes = tuple(changes["scopes"]) if changes.get("scopes") else known.scopes
        return dataclasses.replace(known, **texts, scopes=scopes)

    def client(self, key: str) -> OAuthClient | None:
        prefix = f"COMPOSER_{key.upper()}_"
        client_id = self._environ.get(prefix + "CLIENT_ID", "").strip()
        if client_id:
            return OAuthClient(client_id, self._environ.get(prefix + "CLIENT_SECRET", "").strip())
        return self._settings.clients.get(key) or self._built_in.get(key)

    def key_for(self, account: Account) -> str:
        """The server account signs in with, or would at its provider ("" for none)."""
        from composer.mail.providers import provider_of

        if account.oauth:
            return account.oauth
        provider = provider_of(account.host, account.email)
        if provider is not None and provider.oauth:
            return provider.oauth
        host = account.host.strip().lower().rstrip(".")
        for key, changes in self._settings.servers.items():
            if host and host in {h.lower().rstrip(".") for h in changes.get("hosts", ())}:
                return key
        return ""

    def offered(self, account: Account) -> str:
        """key_for(account) when Composer can sign in there (a client is registered), else ""."""
        key = self.key_for(account)
        return key if self.server(key) is not None and self.client(key) is not None else ""

    def why_not(self, account: Account) -> str:
        """Why sign-in is not offered for an account whose provider has it; "" otherwise."""
        key = self.key_for(account)
        server = self.server(key)
        if server is None or self.client(key) is not None:
            return ""
        return (
            f"Signing in with {server.name} needs a client ID registered with {server.name}; "
            "none is set up in this copy of Composer. The README's “Sign in with Google or "
            "Microsoft” section says how to register one. Until then, use an app password "
            "if your provider allows one."
        )


def _whole_server(key: str, fields: Mapping[str, Any]) -> OAuthServer | None:
    """A server of the settings' own, when it names everything a sign-in needs."""
    if not (fields.get("authorization_endpoint") and fields.get("token_endpoint")):
        return None
    if not fields.get("scopes"):
        return None
    return OAuthServer(
        key=key,
        name=str(fields.get("name") or key),
        authorization_endpoint=str(fields["authorization_endpoint"]),
        token_endpoint=str(fields["token_endpoint"]),
        revocation_endpoint=str(fields.get("revocation_endpoint", "")),
        scopes=tuple(fields["scopes"]),
    )
