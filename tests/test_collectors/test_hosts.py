"""Address policy and per-host politeness, with an injected clock (no real sleeping)."""

from __future__ import annotations

import threading

import pytest

from collectors import HostPoliteness
from collectors.hosts import check_host_allowed, is_public_address
from newswatch import FeedError


@pytest.mark.parametrize(
    ("address", "public"),
    [
        pytest.param("93.184.216.34", True, id="public-v4"),
        pytest.param("2606:2800:220:1:248:1893:25c8:1946", True, id="public-v6"),
        pytest.param("127.0.0.1", False, id="loopback"),
        pytest.param("10.1.2.3", False, id="private-10"),
        pytest.param("172.16.0.1", False, id="private-172"),
        pytest.param("192.168.1.1", False, id="private-192"),
        pytest.param("100.64.0.1", False, id="carrier-grade-nat"),
        pytest.param("169.254.169.254", False, id="link-local-metadata"),
        pytest.param("0.0.0.0", False, id="unspecified"),
        pytest.param("224.0.0.1", False, id="multicast"),
        pytest.param("::1", False, id="v6-loopback"),
        pytest.param("fe80::1%eth0", False, id="v6-link-local-scoped"),
        pytest.param("fd00::1", False, id="v6-unique-local"),
        pytest.param("::ffff:10.0.0.1", False, id="v4-mapped-private"),
        pytest.param("not an ip", False, id="garbage"),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_a_name_with_any_private_address_is_blocked() -> None:
    with pytest.raises(FeedError) as info:
        check_host_allowed(
            "mixed.example",
            443,
            allow_private=False,
            resolve=lambda h, p: ["93.184.216.34", "10.0.0.1"],
        )
    assert info.value.kind == "blocked" and "10.0.0.1" in str(info.value)


def test_unresolvable_host_is_a_dns_error() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(FeedError) as info:
        check_host_allowed("nowhere.invalid", 80, allow_private=False, resolve=fail)
    assert info.value.kind == "dns"


def test_allow_private_skips_resolution() -> None:
    def never(host: str, port: int) -> list[str]:
        raise AssertionError("must not resolve")

    check_host_allowed("localhost", 80, allow_private=True, resolve=never)
    assert True  # reaching here without the resolver being called is the result


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_politeness_spaces_requests_per_host_only() -> None:
    clock = FakeClock()
    polite = HostPoliteness(2.0, clock=clock, sleep=clock.sleep)
    waits = [
        polite.wait("a.example"),
        polite.wait("b.example"),
        polite.wait("A.EXAMPLE"),
        polite.wait("a.example"),
    ]
    assert waits == [0.0, 0.0, 2.0, 2.0]
    clock.now += 10
    assert polite.wait("a.example") == 0.0


def test_politeness_reservations_are_distinct_across_threads() -> None:
    polite = HostPoliteness(1.0, clock=lambda: 0.0, sleep=lambda s: None)
    delays: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        d = polite.reserve("shared.example")
        with lock:
            delays.append(d)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(delays) == [float(i) for i in range(20)]
