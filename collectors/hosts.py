"""Who we may talk to and how often: the private-address guard (SSRF) and per-host politeness.

Users paste arbitrary feed URLs, so a host that resolves to loopback, private, link-local or
otherwise non-global addresses is refused unless `settings.fetch.allow_private_hosts` is set.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable

from newswatch import FeedError

Resolver = Callable[[str, int], list[str]]
"""(host, port) -> IP address strings; injectable so tests need no DNS."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver returns for `host` (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses (IPv4-mapped IPv6 judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_host_allowed(host: str, port: int, *, allow_private: bool, resolve: Resolver) -> None:
    """Raise FeedError(kind="blocked") if `host` resolves to any non-public address."""
    if allow_private:
        return
    host = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise FeedError(
                f"cannot resolve host {host!r}: {exc}; check the feed URL", kind="dns"
            ) from exc
    private = [a for a in addresses if not is_public_address(a)]
    if private or not addresses:
        raise FeedError(
            f"refusing to fetch from {host!r}: it resolves to non-public address(es) {private or addresses}; "
            "set NEWSWATCH_FETCH__ALLOW_PRIVATE_HOSTS=true if this feed is on your own network",
            kind="blocked",
        )


class HostPoliteness:
    """Spaces requests to the same host by at least `delay_s`, across all feeds and threads."""

    def __init__(
        self,
        delay_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.delay_s = delay_s
        self._clock = clock
        self._sleep = sleep
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, host: str) -> float:
        """Book the next free slot for `host` and return how long the caller must wait for it."""
        key = host.lower()
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(key, now))
            self._next_slot[key] = slot + self.delay_s
            return slot - now

    def wait(self, host: str) -> float:
        """Sleep until this host may be contacted again (outside the lock); returns seconds slept."""
        delay = self.reserve(host)
        if delay > 0:
            self._sleep(delay)
        return delay
