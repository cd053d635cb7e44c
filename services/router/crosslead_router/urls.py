"""Webhook URLs must not reach inside our network (SSRF guard).

A URL is accepted only if it is http(s) and every address its host resolves to is a public
unicast address. The check runs when an endpoint is saved and again before each attempt, and the
attempt then connects to an address that passed (``PinnedTarget``), so a DNS answer that
changes between check and connect (rebinding) cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass

import httpx

__all__ = [
    "PinnedTarget",
    "UnsafeUrl",
    "check_url",
    "is_public_address",
    "parse_webhook_url",
    "pin",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

log = logging.getLogger(__name__)

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_RESOLVE_TIMEOUT_SECONDS = 5.0


class UnsafeUrl(ValueError):
    """The URL is not one the router may call; the message says why."""


@dataclass(frozen=True)
class PinnedTarget:
    """Where to send a request: ``url`` with its host replaced by a checked address, plus the
    ``Host`` header and TLS server name of the original host."""

    url: str
    host_header: str
    sni_hostname: str | None


def is_public_address(ip: IPAddress) -> bool:
    """True for a global unicast address; False for loopback, private, link-local, multicast,
    reserved, unspecified, CGNAT, unique-local/site-local IPv6, and IPv6 forms that embed such
    an IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip.sixtofour is not None and not is_public_address(ip.sixtofour):
            return False
        if ip.teredo is not None and not is_public_address(ip.teredo[1]):
            return False
        if ip.is_site_local:
            return False
    elif ip in _CGNAT:
        return False
    special = (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
    return ip.is_global and not special


def parse_webhook_url(url: str) -> httpx.URL:
    """The URL if it is an absolute http(s) URL with a host, else :class:`UnsafeUrl`. Parsed
    by httpx, the same parser that later sends the request, so check and use cannot differ."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in {"http", "https"}:
        raise UnsafeUrl("must be an http or https URL")
    if not parsed.host:
        raise UnsafeUrl("must name a host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeUrl("the port must be between 1 and 65535")
    return parsed


async def _resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(_RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise UnsafeUrl(f"host {host!r} does not resolve") from exc
    try:
        return [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    except ValueError as exc:
        raise UnsafeUrl(f"host {host!r} resolves to an unusable address") from exc


async def check_url(url: str, *, allow_private: bool) -> PinnedTarget | None:
    """Refuse ``url`` (:class:`UnsafeUrl`) unless it may be called. Returns the pinned target
    to connect to, or None when private addresses are allowed and the URL is used as it is."""
    parsed = parse_webhook_url(url)
    if allow_private:
        return None
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = await _resolve(host, port)
    refused = [ip for ip in addresses if not is_public_address(ip)]
    if refused or not addresses:
        # The partner learns only that the host is refused; which inside address it reaches
        # is for the operator (telling the partner would map our network for it).
        log.warning(
            "refused webhook host %r: it resolves to %s, not a public address",
            host,
            ", ".join(map(str, refused)) or "nothing",
        )
        raise UnsafeUrl(f"host {host!r} does not resolve to a public address")
    return pin(parsed, addresses[0])


def pin(url: httpx.URL, address: IPAddress) -> PinnedTarget:
    """Send to ``address`` while presenting the URL's own host (Host header, TLS SNI and
    certificate check)."""
    sni = url.host if url.scheme == "https" else None
    return PinnedTarget(str(url.copy_with(host=str(address))), url.netloc.decode("ascii"), sni)
