"""The "oauth" part of settings.json: authorization servers changed or added, and client
registrations. What is in force (with the environment and a distributor's built-in file) is
oauth_registry's."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from composer.mail.oauth_servers import OAuthClient

log = logging.getLogger(__name__)

SERVER_TEXTS = ("name", "authorization_endpoint", "token_endpoint", "revocation_endpoint")


_NOTHING: Mapping[str, Any] = MappingProxyType({})


class OAuthSettings(NamedTuple):
    """Immutable; change with ``_replace``."""

    # key -> the fields of a server that replace the built-in's, or a whole server of its own.
    servers: Mapping[str, Mapping[str, Any]] = _NOTHING
    clients: Mapping[str, OAuthClient] = _NOTHING

    def to_json(self) -> dict[str, Any]:
        return {
            "servers": {key: dict(value) for key, value in self.servers.items()},
            "clients": {key: dataclasses.asdict(c) for key, c in self.clients.items()},
        }

    @classmethod
    def from_json(cls, data: object) -> OAuthSettings:
        """What data holds; anything malformed is left out (and logged)."""
        if not isinstance(data, dict):
            return cls()
        servers: dict[str, dict[str, Any]] = {}
        raw_servers = data.get("servers")
        for key, value in (raw_servers if isinstance(raw_servers, dict) else {}).items():
            server = _server_fields(value)
            if server is None:
                log.warning("ignoring the malformed oauth server %r in the settings", key)
            else:
                servers[str(key)] = server
        return cls(servers=servers, clients=clients_from_json(data.get("clients")))


def clients_from_json(data: object) -> dict[str, OAuthClient]:
    """The client registrations data holds, by server key; malformed ones left out."""
    # Here: the servers' table is not needed to read settings that name no client (the
    # first window's start-up reads them).
    from composer.mail.oauth_servers import OAuthClient

    clients: dict[str, OAuthClient] = {}
    for key, value in (data if isinstance(data, dict) else {}).items():
        client_id = value.get("client_id") if isinstance(value, dict) else None
        secret = value.get("client_secret", "") if isinstance(value, dict) else None
        if isinstance(client_id, str) and client_id.strip() and isinstance(secret, str):
            clients[str(key)] = OAuthClient(client_id.strip(), secret.strip())
        else:
            log.warning("ignoring the malformed oauth client of %r", key)
    return clients


def _server_fields(value: object) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    kept: dict[str, Any] = {}
    for name in SERVER_TEXTS:
        if name in value:
            if not isinstance(value[name], str):
                return None
            kept[name] = value[name].strip()
    for name in ("scopes", "hosts"):
        if name in value:
            items = value[name]
            if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
                return None
            kept[name] = [s.strip() for s in items if s.strip()]
    for name in ("authorization_endpoint", "token_endpoint", "revocation_endpoint"):
        # Tokens and codes travel to these: never over plain http.
        if kept.get(name) and not kept[name].lower().startswith("https://"):
            return None
    return kept
