"""The hub's SSRF policy: a callback is judged by the addresses it resolves to, and the
address checked is the one to connect to. Resolution here is either a fake resolver or
getaddrinfo on literal addresses and /etc/hosts names: no DNS query leaves the machine."""

from __future__ import annotations

import ipaddress

import pytest

from service.push import address
from service.push.address import Refused, Unresolved, check, refusal, split


def resolving_to(*found: str) -> address.Resolver:
    def resolve(_host: str, _port: int) -> list[str]:
        return list(found)
    return resolve


# Every form of a non-global address that must be refused with allow-private off,
# through the real resolver: (callback host as written in a URL, the kind named).
LOCAL_FORMS = [
    ("127.0.0.1", "loopback"),
    ("[::1]", "loopback"),
    ("[::ffff:127.0.0.1]", "a form of 127.0.0.1, a loopback"),
    ("[2002:7f00:1::1]", "a form of 127.0.0.1, a loopback"),
    ("[64:ff9b::7f00:1]", "a form of 127.0.0.1, a loopback"),
    ("0x7f.1", "loopback"),
    ("2130706433", "loopback"),
    ("127.1", "loopback"),
    ("0177.0.0.1", "loopback"),
    ("localhost", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "shared address"),
    ("[fe80::1]", "link-local"),
    ("[fc00::1]", "private"),
    ("[fd12:3456::1]", "private"),
    ("[::ffff:10.0.0.1]", "a form of 10.0.0.1, a private"),
    ("[2002:a9fe:a9fe::1]", "a form of 169.254.169.254, a link-local"),
    ("[64:ff9b::a00:1]", "a form of 10.0.0.1, a private"),
    ("[::127.0.0.1]", "IPv4-compatible"),
    ("[64:ff9b:1::a00:1]", "local-use NAT64"),
    ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "Teredo"),
    ("[2001:db8::1]", "private"),
    ("192.0.2.1", "private"),
    ("198.18.0.1", "private"),
    ("240.0.0.1", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("[::]", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("224.0.0.1", "multicast"),
    ("[ff02::1]", "multicast"),
]


@pytest.mark.parametrize(("host", "kind"), LOCAL_FORMS, ids=[h for h, _ in LOCAL_FORMS])
def test_every_non_global_form_is_refused_by_the_address_it_resolves_to(host: str,
                                                                        kind: str) -> None:
    with pytest.raises(Refused, match=kind):
        check(f"http://{host}:8080/callback")


def test_the_message_names_the_host_and_what_it_resolves_to() -> None:
    with pytest.raises(Refused) as refused:
        check("http://0x7f.1/cb")
    assert str(refused.value) == "0x7f.1 resolves to 127.0.0.1, which is a loopback address"
    with pytest.raises(Refused) as refused:
        check("http://10.0.0.1/cb")
    assert str(refused.value) == "10.0.0.1 is a private address"


def test_a_name_is_refused_if_any_of_its_addresses_is_not_global() -> None:
    with pytest.raises(Refused, match=r"resolves to 10\.0\.0\.7, which is a private address"):
        check("https://reader.example/cb", resolver=resolving_to("93.184.216.34", "10.0.0.7"))


def test_a_global_name_is_taken_and_the_checked_address_is_the_one_to_connect_to() -> None:
    target = check("https://Reader.Example:8443/api/pshb.php?k=abc&x=1",
                   resolver=resolving_to("93.184.216.34", "2606:2800:220:1::1"))
    assert target == address.Target("https://Reader.Example:8443/api/pshb.php?k=abc&x=1",
                                    "https", "reader.example", 8443,
                                    "/api/pshb.php?k=abc&x=1", "93.184.216.34")
    assert check("http://reader.example", resolver=resolving_to("8.8.8.8")).path == "/"
    assert check("http://reader.example/?", resolver=resolving_to("8.8.8.8")).path == "/?"
    assert check("https://reader.example/", resolver=resolving_to("8.8.8.8")).port == 443


def test_global_addresses_inside_ipv6_forms_are_taken() -> None:
    mapped = check("http://[::ffff:8.8.8.8]/cb", resolver=resolving_to("::ffff:8.8.8.8"))
    assert mapped.address == "8.8.8.8"  # connected to as the IPv4 address it is
    for form in ("2002:808:808::1", "64:ff9b::808:808", "2606:4700::1111"):
        assert check(f"http://[{form}]/cb", resolver=resolving_to(form)).address == form


def test_allow_private_lets_non_global_unicast_through_and_nothing_else() -> None:
    for host in ("127.0.0.1", "[::1]", "10.0.0.1", "169.254.169.254", "100.64.0.1",
                 "[::ffff:127.0.0.1]", "localhost"):
        assert check(f"http://{host}:9/cb", allow_private=True).port == 9
    for host, kind in (("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
                       ("[ff02::1]", "multicast"), ("255.255.255.255", "broadcast"),
                       ("[::127.0.0.1]", "IPv4-compatible"), ("[::ffff:224.0.0.1]", "multicast")):
        with pytest.raises(Refused, match=kind):
            check(f"http://{host}/cb", allow_private=True)


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://reader.example/cb", "not an absolute http or https URL"),
    ("file:///etc/passwd", "not an absolute http or https URL"),
    ("gopher://reader.example:70/", "not an absolute http or https URL"),
    ("//reader.example/cb", "not an absolute http or https URL"),
    ("/callback", "not an absolute http or https URL"),
    ("http://user:pass@reader.example/cb", "user info"),
    ("http://8.8.8.8@127.0.0.1/cb", "user info"),
    ("http://reader.example:0/cb", "port"),
    ("http://reader.example:65536/cb", "port"),
    ("http://reader.example:99999/cb", "port"),
    ("http://reader.example:-1/cb", "port"),
    ("http://reader.example:http/cb", "port"),
    ("http://reader.example/cb#frag", "fragment"),
    ("http://reader.example/c b", "' ' must be percent-encoded"),
    ("http://reader.example/cb\r\nX-Injected: 1", "must be percent-encoded"),
    ("http://reader.example/é", "must be percent-encoded"),
    ("http://reader.exa<mple/", "must be percent-encoded"),
    ("http://[::1/", "not an IPv6 address"),
    ("http://[::1]x/", "not an IPv6 address"),
    ("http://[reader.example]/", "not an IPv6 address"),
    ("http://reader..example/", "not a host name"),
    ("http://-reader.example/", "not a host name"),
    ("http://reader.example/" + "a" * 2100, "longer than 2048 bytes"),
])
def test_urls_that_are_not_plain_http_callbacks_are_refused_before_any_lookup(url: str,
                                                                              why: str) -> None:
    def no_lookup(host: str, port: int) -> list[str]:
        raise AssertionError(f"looked up {host}")
    with pytest.raises(Refused, match=why):
        check(url, resolver=no_lookup)


def test_a_name_that_does_not_resolve_is_unresolved_which_may_pass() -> None:
    def failing(_host: str, _port: int) -> list[str]:
        raise OSError("Name or service not known")
    with pytest.raises(Unresolved, match="does not resolve"):
        check("http://reader.example/cb", resolver=failing)
    with pytest.raises(Unresolved):
        check("http://reader.example/cb", resolver=resolving_to())


def test_split_keeps_the_query_and_defaults_the_port() -> None:
    assert split("HTTP://READER.example/a/b?c=d&e") == ("http", "reader.example", 80,
                                                         "/a/b?c=d&e")
    assert split("https://[2606:4700::1111]/x") == ("https", "2606:4700::1111", 443, "/x")


def test_refusal_of_single_addresses() -> None:
    assert refusal(ipaddress.ip_address("8.8.8.8")) is None
    assert refusal(ipaddress.ip_address("::ffff:127.0.0.1")) == (
        "a form of 127.0.0.1, a loopback address")
    assert refusal(ipaddress.ip_address("192.0.0.9")) is None  # a global anycast /32
