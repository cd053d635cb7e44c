"""The SSRF guard: which addresses and URLs a webhook may reach (no network needed)."""

from __future__ import annotations

import ipaddress
import logging

import httpx
import pytest

from crosslead_router.urls import UnsafeUrl, check_url, is_public_address, parse_webhook_url, pin


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "2606:4700:4700::1111",
        "2a00:1450:4001:80b::200e",
        "::ffff:8.8.8.8",
    ],
)
def test_public_unicast_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",  # loopback, private
        "169.254.169.254",  # link-local (cloud metadata)
        "100.64.0.1",
        "100.127.255.254",  # CGNAT
        "0.0.0.0",
        "255.255.255.255",
        "240.0.0.1",  # unspecified, broadcast, reserved
        "224.0.0.1",
        "239.255.255.250",  # multicast
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "198.18.0.1",  # documentation, benchmarking
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "2002:7f00:1::1",
        "2002:a00:1::1",  # 6to4 around loopback / private
        "64:ff9b::7f00:1",  # NAT64 around loopback
    ],
)
def test_internal_and_special_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("example.com/hook", "http or https"),
        ("http:///hook", "must name a host"),
        ("http://example.com:70000/", "port"),
        ("http://[::1/", "not a valid URL"),
    ],
)
def test_malformed_or_non_http_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(UnsafeUrl, match=message):
        parse_webhook_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "https://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://0x7f000001/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
async def test_urls_reaching_inside_are_refused_unless_private_is_allowed(url: str) -> None:
    with pytest.raises(UnsafeUrl, match="does not resolve to a public address"):
        await check_url(url, allow_private=False)
    assert await check_url(url, allow_private=True) is None


async def test_a_public_address_is_pinned_with_the_original_host() -> None:
    target = await check_url("http://93.184.216.34:8080/hooks?x=1", allow_private=False)
    assert target is not None
    assert target.url == "http://93.184.216.34:8080/hooks?x=1"
    assert target.host_header == "93.184.216.34:8080"


def test_pinning_keeps_host_header_and_tls_name_of_the_original_host() -> None:
    target = pin(
        httpx.URL("https://crm.example.com/hooks/lead?src=x"),
        ipaddress.ip_address("2606:4700::6810:85e5"),
    )
    assert target.url == "https://[2606:4700::6810:85e5]/hooks/lead?src=x"
    assert target.host_header == "crm.example.com"
    assert target.sni_hostname == "crm.example.com"


async def test_a_refusal_tells_the_partner_nothing_of_our_network_but_the_operator_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="crosslead_router.urls"),
        pytest.raises(UnsafeUrl) as refused,
    ):
        await check_url("http://localhost:8080/hook", allow_private=False)
    assert str(refused.value) == "host 'localhost' does not resolve to a public address"
    assert "127.0.0.1" in caplog.text
