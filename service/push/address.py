"""Which callbacks the hub may call: the SSRF policy, pure but for the name lookup.

A hub sends requests to URLs strangers give it, so a callback is judged by where it
leads, not by how it is written: the host is resolved (getaddrinfo, which also reads
``0x7f.1``, ``2130706433`` and ``127.1`` as 127.0.0.1) and every address it resolves to
must be a global unicast address. IPv6 forms that carry an IPv4 address (mapped,
6to4, NAT64) are judged by the IPv4 address inside; IPv4-compatible and Teredo
addresses are refused outright. ``allow_private`` (tests, a LAN) lets non-global unicast
addresses through; multicast, broadcast and unspecified ones never are.

``check`` returns the ``Target``: the address that was checked, to connect to, and the
name, for the Host header and TLS, so a DNS answer that changes between the check and
the connection (DNS rebinding) cannot send the request anywhere unchecked.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2048  # bytes of a callback URL; longer ones are refused
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598, carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052, the well-known prefix
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215, local use
_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291, deprecated IPv4-compatible
_TEREDO = ipaddress.ip_network("2001::/32")  # RFC 4380
_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*\.?")
# What a URL may carry raw: RFC 3986's unreserved, reserved and "%" characters.
_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class Refused(ValueError):
    """The callback may not be called; the message says why, in one line."""


class Unresolved(Refused):
    """The callback's name resolves to no address (now: that may change)."""


@dataclass(frozen=True)
class Target:
    """A callback that passed the policy: where to connect, and what to ask for."""

    url: str  # as the subscriber gave it
    scheme: str  # http or https
    host: str  # the name (or literal address) for the Host header and TLS
    port: int
    path: str  # path and query, as sent on the request line
    address: str  # the checked address to connect to


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection (socket.gaierror if none)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def check(url: str, allow_private: bool = False, resolver: Resolver = resolve) -> Target:
    """The callback ``url`` as a ``Target``, or ``Refused`` saying why it may not be
    called. Nothing is sent anywhere; only the name is looked up."""
    scheme, host, port, path = split(url)
    try:
        found = resolver(host, port)
    except (OSError, UnicodeError):
        raise Unresolved(f"{host} does not resolve to an address") from None
    if not found:
        raise Unresolved(f"{host} does not resolve to an address")
    addresses = []
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise Refused(f"{host} resolves to {text!r}, not an IP address") from None
        problem = refusal(address, allow_private)
        if problem is not None:
            shown = "" if str(address) == host else f" resolves to {address}, which"
            raise Refused(f"{host}{shown} is {problem}")
        addresses.append(_connectable(address))
    return Target(url, scheme, host, port, path, str(addresses[0]))


def split(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and request path of an absolute http(s) URL; Refused if it is
    not one, carries user info or a fragment, or a port outside 1-65535."""
    if len(url.encode("utf-8")) > MAX_URL:
        raise Refused(f"longer than {MAX_URL} bytes")
    if not _URL_CHARS.fullmatch(url):
        bad = next(c for c in url if not _URL_CHARS.fullmatch(c))
        raise Refused(f"{bad!r} must be percent-encoded in a URL")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed or invalid [IPv6] host
        raise Refused("its host in brackets is not an IPv6 address") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Refused("not an absolute http or https URL")
    if "@" in parts.netloc:
        raise Refused("a URL with user info (user@host) is not taken")
    if "#" in url:
        raise Refused("a URL with a fragment (#) is not taken")
    try:
        port = parts.port
    except ValueError:
        raise Refused("its port is not a number from 1 to 65535") from None
    if port == 0:
        raise Refused("its port is not a number from 1 to 65535")
    host = parts.hostname or ""
    if parts.netloc.startswith("["):
        if not re.fullmatch(r":\d*", parts.netloc.split("]", 1)[1] or ":"):
            raise Refused("its host in brackets is not an IPv6 address")
    elif not _NAME.fullmatch(host):
        raise Refused(f"{host!r} is not a host name")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query or url.endswith("?") else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def refusal(address: Address, allow_private: bool = False) -> str | None:
    """Why the hub may not connect to ``address`` (None: it may), as the end of
    "<host> is ...": the kind of address it is."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded(address)
        if isinstance(inner, str):
            return inner
        if inner is not None:
            problem = refusal(inner, allow_private)
            return None if problem is None else f"a form of {inner}, {problem}"
    never = _never(address)
    if never is not None:
        return never
    if allow_private:
        return None
    return _not_global(address)


def _embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | str | None:
    """The IPv4 address an IPv6 address stands for, or why it is refused outright."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _COMPATIBLE and int(address) > 1:
        return "an IPv4-compatible IPv6 address (deprecated, never routed)"
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address in _NAT64_LOCAL:
        return "a local-use NAT64 address (64:ff9b:1::/48)"
    if address in _TEREDO:
        return "a Teredo tunnel address (2001::/32)"
    return None


def _never(address: Address) -> str | None:
    """What no setting lets through: addresses that are not one host's."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and int(address) == 0xFFFF_FFFF:
        return "the broadcast address"
    return None


def _not_global(address: Address) -> str | None:
    """What ``allow_private`` lets through: addresses that are not reachable from the
    Internet (one kind named, for the message), or None for a global one."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared address (100.64.0.0/10)"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a global address"
    return None


def _connectable(address: Address) -> Address:
    """The address to open a socket to: an IPv4-mapped one as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def shown(url: str) -> str:
    """A callback for the log, without its query (which often holds the reader's key)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?..." if parts.query else "")
