"""The SSRF guard refuses every block of the IANA special-purpose address registries, one test per block."""

from __future__ import annotations

import ipaddress

import pytest

from webhooks.engine import transport

# One address inside each registry block (IPv4 and IPv6 Special-Purpose Address Registries),
# written out here rather than taken from the transport's table, with the word the refusal names.
IANA_BLOCKS = [
    ("0.0.0.0/8", "0.1.2.3", "this network"),
    ("0.0.0.0/32", "0.0.0.0", "unspecified"),
    ("10.0.0.0/8", "10.200.0.1", "private"),
    ("100.64.0.0/10", "100.127.255.254", "carrier-grade NAT"),
    ("127.0.0.0/8", "127.255.0.1", "loopback"),
    ("169.254.0.0/16", "169.254.1.1", "link-local"),
    ("172.16.0.0/12", "172.31.255.1", "private"),
    ("192.0.0.0/24", "192.0.0.100", "IETF protocol assignment"),
    ("192.0.0.0/29", "192.0.0.1", "service continuity"),
    ("192.0.0.8/32", "192.0.0.8", "dummy"),
    ("192.0.0.9/32", "192.0.0.9", "PCP anycast"),
    ("192.0.0.10/32", "192.0.0.10", "TURN anycast"),
    ("192.0.0.170/32", "192.0.0.170", "NAT64/DNS64"),
    ("192.0.0.171/32", "192.0.0.171", "NAT64/DNS64"),
    ("192.0.2.0/24", "192.0.2.77", "documentation"),
    ("192.31.196.0/24", "192.31.196.1", "AS112"),
    ("192.52.193.0/24", "192.52.193.1", "AMT"),
    ("192.88.99.0/24", "192.88.99.1", "6to4 relay"),
    ("192.88.99.2/32", "192.88.99.2", "6a44 relay"),
    ("192.168.0.0/16", "192.168.200.1", "private"),
    ("192.175.48.0/24", "192.175.48.6", "AS112"),
    ("198.18.0.0/15", "198.19.255.1", "benchmarking"),
    ("198.51.100.0/24", "198.51.100.9", "documentation"),
    ("203.0.113.0/24", "203.0.113.250", "documentation"),
    ("224.0.0.0/4", "239.255.255.250", "multicast"),
    ("240.0.0.0/4", "250.1.2.3", "reserved"),
    ("255.255.255.255/32", "255.255.255.255", "broadcast"),
    ("::1/128", "::1", "loopback"),
    ("::/128", "::", "unspecified"),
    ("::ffff:0:0/96", "::ffff:8.8.8.8", "IPv4-mapped"),
    ("64:ff9b::/96", "64:ff9b::a00:1", "embeds an IPv4 address"),
    ("64:ff9b:1::/48", "64:ff9b:1::8.8.8.8", "embeds an IPv4 address"),
    ("100::/64", "100::1", "discard-only"),
    ("100:0:0:1::/64", "100:0:0:1::1", "dummy"),
    ("2001::/23", "2001:1ff::1", "IETF protocol assignment"),
    ("2001::/32", "2001:0:4136:e378::1", "Teredo"),
    ("2001:1::1/128", "2001:1::1", "PCP anycast"),
    ("2001:1::2/128", "2001:1::2", "TURN anycast"),
    ("2001:1::3/128", "2001:1::3", "DNS-SD"),
    ("2001:2::/48", "2001:2::1", "benchmarking"),
    ("2001:3::/32", "2001:3::1", "AMT"),
    ("2001:4:112::/48", "2001:4:112::1", "AS112"),
    ("2001:10::/28", "2001:10::1", "ORCHID"),
    ("2001:20::/28", "2001:20::1", "ORCHIDv2"),
    ("2001:30::/28", "2001:30::1", "drone"),
    ("2001:db8::/32", "2001:db8::1", "documentation"),
    ("2002::/16", "2002:c000:204::1", "6to4"),
    ("2620:4f:8000::/48", "2620:4f:8000::1", "AS112"),
    ("3fff::/20", "3fff::1", "documentation"),
    ("5f00::/16", "5f00::1", "segment routing"),
    ("fc00::/7", "fd00::1", "private"),
    ("fe80::/10", "fe80::1", "link-local"),
    ("fec0::/10", "fec0::1", "site-local"),
    ("ff00::/8", "ff0e::1", "multicast"),
]


@pytest.mark.parametrize("block, address, label", IANA_BLOCKS, ids=[row[0] for row in IANA_BLOCKS])
def test_special_purpose_block_is_refused(block, address, label):
    assert ipaddress.ip_address(address) in ipaddress.ip_network(block)  # the sample is in its block

    problem = transport.address_problem(address)

    assert problem is not None and label in problem


@pytest.mark.parametrize("block, reason", transport.SPECIAL_PURPOSE, ids=[row[0] for row in transport.SPECIAL_PURPOSE])
def test_first_and_last_address_of_every_table_block_is_refused(block, reason):
    network = ipaddress.ip_network(block)
    assert transport.address_problem(str(network[0])) is not None
    assert transport.address_problem(str(network[-1])) is not None


def test_every_registry_block_is_in_the_table():
    table = {ipaddress.ip_network(block) for block, _ in transport.SPECIAL_PURPOSE}
    missing = [block for block, _, _ in IANA_BLOCKS if ipaddress.ip_network(block) not in table]
    assert missing == []


@pytest.mark.parametrize(
    "address",
    ["192.0.1.1", "192.88.98.255", "192.88.100.1", "198.20.0.1", "2001:4860:4860::8888", "3fff:1000::1", "2606:4700::1"],
)
def test_public_neighbours_of_special_blocks_pass(address):
    assert transport.address_problem(address) is None


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["192.0.0.8", "192.0.0.9", "192.0.0.10", "192.88.99.1", "3fff::1", "5f00::1"])
def test_create_refuses_a_special_purpose_target(api, address):
    host = f"[{address}]" if ":" in address else address

    response = api.post(f"/api/v1/tenants/{api.tenant.slug}/webhooks", {"url": f"https://{host}/hook"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "url"
