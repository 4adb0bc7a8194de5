"""Who is calling: the one place a client's address is worked out (rate limits per address,
staff lockouts, the /metrics loopback check, the access log).

The address is the socket peer's. `X-Forwarded-For` is believed only when the peer is one of
`LOYALTY_TRUSTED_PROXIES`; then the client is the right-most address in it that is not itself
a trusted proxy. Everything left of that was written by whoever called the first proxy, so
anyone can put anything there: taking the left-most entry would let a caller choose the
address its limits are counted against. Loopback is not trusted by default, so with no
setting a header a caller sends is ignored.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any, Mapping

from loyalty.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"  # no socket peer (some test transports)


@lru_cache(maxsize=8)
def parse_networks(raw: str) -> tuple[Network, ...]:
    """`10.0.0.1, 10.1.0.0/16, ::1` → networks; raises ValueError naming a bad entry."""
    networks = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or network") from None
    return tuple(networks)


def _address(raw: str) -> Address | None:
    raw = raw.strip()
    if raw.startswith("[") and "]" in raw:  # [2001:db8::1]:443
        raw = raw[1 : raw.index("]")]
    elif raw.count(":") == 1:  # 203.0.113.7:51234
        raw = raw.split(":", 1)[0]
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        return None


def _trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _scope(connection_or_scope: Any) -> Mapping[str, Any]:
    return connection_or_scope if isinstance(connection_or_scope, Mapping) else connection_or_scope.scope


def peer(connection_or_scope: Any) -> str:
    """The socket peer's address, whatever the headers say."""
    client = _scope(connection_or_scope).get("client")
    return str(client[0]) if client else UNKNOWN


def peer_is_trusted_proxy(connection_or_scope: Any, settings: Settings) -> bool:
    return _trusted(_address(peer(connection_or_scope)), parse_networks(settings.trusted_proxies))


def client_address(connection_or_scope: Any, settings: Settings) -> str:
    """The caller's address: the socket peer, or, when the peer is a trusted proxy, the
    right-most untrusted address of `X-Forwarded-For`."""
    scope = _scope(connection_or_scope)
    nearest = peer(scope)
    networks = parse_networks(settings.trusted_proxies)
    if not networks or not _trusted(_address(nearest), networks):
        return nearest
    hops = [
        value.decode("latin-1")
        for name, value in scope.get("headers") or ()
        if name.lower() == b"x-forwarded-for"
    ]
    for raw in reversed(",".join(hops).split(",")):
        if not raw.strip():
            continue
        address = _address(raw)
        if address is None:  # garbage a trusted proxy passed on: the last hop we can name
            return nearest
        if not _trusted(address, networks):
            return str(address)
        nearest = str(address)
    return nearest  # every hop a trusted proxy: the left-most one is the client
