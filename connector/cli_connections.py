"""Operator commands: ``keys generate|rotate|status``, ``connections list|revoke``,
``oauth-clients add|list``. ``keys rotate`` re-encrypts every column connector/storage/encrypted.py lists.

They read the same settings as ``serve`` (CONNECTOR_DB, CONNECTOR_ENCRYPTION_KEYS or the key file beside the
database) and work while the server runs: SQLite writes wait on each other, and a server using the key file
picks up a key that ``keys rotate`` added before it meets a row encrypted under it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import click

from connector.clock import SystemClock, iso
from connector.config import Settings
from connector.crypto import DecryptionError, KeyRing, generate_key, key_id
from connector.errors import ConfigError
from connector.keyfile import FileKeySource, add_key, keep_only, key_file_path, read_key_file, ring_for
from connector.storage.connections import ConnectionRepository
from connector.storage.db import ConnectorDB, open_db
from connector.storage.encrypted import COLUMNS, EncryptedColumn, Rotated, key_usage, reencrypt_every_column
from connector.storage.oauth import OAuthRepository


@dataclass
class Runtime:
    settings: Settings
    cdb: ConnectorDB
    ring: KeyRing

    def connections(self) -> ConnectionRepository:
        return ConnectionRepository(self.cdb, self.ring, SystemClock())


def _stderr(message: str) -> None:
    click.echo(message, err=True)


@contextmanager
def runtime() -> Iterator[Runtime]:
    try:
        settings = Settings.from_env()
        ring = ring_for(settings, _stderr)
    except ConfigError as err:
        click.echo(f"error: {err.message}\n  fix: {err.remediation}", err=True)
        sys.exit(2)
    cdb = open_db(settings.db_path)
    try:
        yield Runtime(settings, cdb, ring)
    finally:
        cdb.close()


# --- keys --------------------------------------------------------------------------------------------------
@click.group()
def keys() -> None:
    """Encryption keys of the stored MemberPass tokens, subscription secrets and action results."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new key for CONNECTOR_ENCRYPTION_KEYS (put it first, keep the old keys after it)."""
    click.echo(generate_key())


@keys.command("rotate")
@click.option("--drop-old", is_flag=True, help="Afterwards, remove keys that no stored value uses any more.")
def keys_rotate(drop_old: bool) -> None:
    """Re-encrypt every stored secret under the newest key: MemberPass tokens, subscription signing
    secrets (and upstream webhook secrets), stored action results.

    With the key file (CONNECTOR_ENCRYPTION_KEYS unset) a new key is added to the file first. With
    CONNECTOR_ENCRYPTION_KEYS, put the new key (from `keys generate`) first, keep the old ones after it,
    restart the server, then run this: tokens are re-encrypted under the first key.
    """
    with runtime() as rt:
        path = key_file_path(rt.settings.db_path)
        from_file = not rt.settings.encryption_keys and rt.settings.db_path != ":memory:"
        if from_file:
            add_key(path)
            rt.ring = KeyRing.from_source(FileKeySource(path))
            click.echo(f"Added key {rt.ring.primary_id.hex()} to {path}.")
        try:
            rotated = reencrypt_every_column(rt.cdb, rt.ring)
        except DecryptionError as err:
            raise click.ClickException(f"{err.message} {err.remediation}") from None
        _report(rotated, rt.ring.primary_id.hex())
        changed = sum(r.changed for r in rotated.values())
        if not from_file and changed == 0 and len(rt.ring.keys) == 1:
            click.echo(
                "Nothing was under an older key. To rotate: run `keys generate`, put the new key first in "
                "CONNECTOR_ENCRYPTION_KEYS (old key after it), restart the server, then run `keys rotate`."
            )
        if drop_old:
            _drop_old(rt, path if from_file else None)


def _report(rotated: dict[EncryptedColumn, Rotated], primary: str) -> None:
    tokens, *others = COLUMNS
    click.echo(f"Re-encrypted {rotated[tokens].changed} stored token(s) under key {primary}.")
    click.echo("Re-encrypted " + ", ".join(f"{rotated[c].changed} {c.noun}(s)" for c in others) + ".")
    for column, done in rotated.items():
        if done.unreadable:
            click.echo(
                f"Left {done.unreadable} {column.noun}(s) that no key of the ring can read: they count as "
                "lost (the call runs again) and expire with their window."
            )


def _drop_old(rt: Runtime, path: object) -> None:
    usage = key_usage(rt.cdb)
    primary = rt.ring.primary_id.hex()
    ring_ids = {key_id(k).hex() for k in rt.ring.keys}
    still_used = sorted(k for k in usage if k != primary and k in ring_ids)
    if still_used:
        raise click.ClickException(
            f"Key(s) {', '.join(still_used)} still encrypt stored values; run `keys rotate` again first."
        )
    old = len(rt.ring.keys) - 1
    if path is None:
        click.echo(
            f"No stored value uses the {old} older key(s): remove them from CONNECTOR_ENCRYPTION_KEYS."
        )
        return
    keep_only(key_file_path(rt.settings.db_path), (rt.ring.keys[0],))
    click.echo(f"Removed {old} older key(s) from the key file.")


@keys.command("status")
def keys_status() -> None:
    """Show each key of the ring and how many stored tokens (and other secrets) it encrypts."""
    with runtime() as rt:
        usage = key_usage(rt.cdb, COLUMNS[:1])
        others = key_usage(rt.cdb, COLUMNS[1:])
        path = key_file_path(rt.settings.db_path)
        ring_keys = rt.ring.keys if rt.settings.encryption_keys or not path.exists() else read_key_file(path)
        for index, key in enumerate(ring_keys):
            kid = key_id(key).hex()
            role = "encrypts new tokens" if index == 0 else "decrypts only"
            click.echo(f"{kid}  {usage.pop(kid, 0):6d} token(s)  {role}{_others(others.pop(kid, 0))}")
        for kid in sorted(set(usage) | set(others)):
            count = usage.get(kid, 0)
            click.echo(
                f"{kid}  {count:6d} token(s)  MISSING from the ring: these cannot be decrypted"
                + _others(others.get(kid, 0))
            )


def _others(count: int) -> str:
    return f"  (and {count} subscription secret(s) or stored action result(s))" if count else ""


# --- connections -------------------------------------------------------------------------------------------
@click.group("connections")
def connections_group() -> None:
    """The connections (pasted MemberPass tokens) this connector holds."""


@connections_group.command("list")
def connections_list() -> None:
    """List every connection, newest first (never a token or a key)."""
    with runtime() as rt:
        rows = rt.connections().list_all()
        if not rows:
            click.echo("No connections.")
            return
        for c in rows:
            reason = f"  ({c.status_reason})" if c.status_reason else ""
            click.echo(
                f"{c.id}  {c.status:15} {c.environment:4}  {c.team_id}  {c.label!r}  "
                f"created {iso(c.created_at)} via {c.created_via}{reason}"
            )


@connections_group.command("revoke")
@click.argument("connection_id")
def connections_revoke(connection_id: str) -> None:
    """Revoke a connection: its token ciphertext, keys and OAuth grants are destroyed."""
    with runtime() as rt:
        repo = rt.connections()
        if repo.get(connection_id) is None:
            raise click.ClickException(f"No connection {connection_id}.")
        repo.revoke(connection_id, "revoked by the operator")
        click.echo(f"Revoked {connection_id}.")


# --- OAuth clients -----------------------------------------------------------------------------------------
@click.group("oauth-clients")
def oauth_clients() -> None:
    """Applications (Zapier, n8n, …) allowed to use the OAuth sign-in."""


def _check_redirect(uri: str) -> str:
    parts = urlsplit(uri)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or not parts.netloc or (parts.scheme == "http" and not loopback):
        raise click.BadParameter(
            f"{uri!r} must be an https URL (http only on localhost)", param_hint="--redirect-uri"
        )
    if parts.fragment:
        raise click.BadParameter(f"{uri!r} must not have a #fragment", param_hint="--redirect-uri")
    return uri


@oauth_clients.command("add")
@click.option("--name", required=True, help="Shown on the sign-in page, e.g. Zapier.")
@click.option(
    "--redirect-uri", "redirect_uris", multiple=True, required=True, help="Exact callback URL; repeatable."
)
def oauth_clients_add(name: str, redirect_uris: tuple[str, ...]) -> None:
    """Register a client; prints its client_id and client_secret (the secret only this once)."""
    uris = [_check_redirect(u) for u in redirect_uris]
    with runtime() as rt:
        client, secret = OAuthRepository(rt.cdb, SystemClock()).add_client(name, uris)
    click.echo(f"client_id:     {client.id}")
    click.echo(f"client_secret: {secret}")
    click.echo("Store the secret now: it is shown only once.", err=True)


@oauth_clients.command("list")
def oauth_clients_list() -> None:
    """List registered clients and their redirect URIs."""
    with runtime() as rt:
        for client in OAuthRepository(rt.cdb, SystemClock()).clients():
            click.echo(f"{client.id}  {client.name!r}  {' '.join(client.redirect_uris)}")


COMMANDS = (keys, connections_group, oauth_clients)
