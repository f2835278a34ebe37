"""Where the service may send a webhook: only to public addresses, checked at save and again on connecting.

A webhook URL is typed by an agency admin, and the service posts to it from inside the network: without
this check it can be made to reach loopback, the cloud metadata service or private hosts (SSRF).
At delivery the name is resolved again and only the addresses that pass are connected to, so a name
that resolved to a public address at save and to loopback later is still refused.
``REFERRAL_WEBHOOK_ALLOW_PRIVATE=1`` lifts it for closed government networks whose receivers have
private addresses, and for tests.
"""

import ipaddress
import socket


class TargetRefused(Exception):
    """The host does not resolve, or resolves to an address the service must not reach."""


class Unresolvable(TargetRefused):
    """The host name has no address."""


class NotPublic(TargetRefused):
    """The host has a loopback, private, link-local or reserved address."""


def is_public(address: str) -> bool:
    """Tell whether an IP address is globally routable (not loopback, private, link-local or reserved)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, allow_private: bool = False) -> list[tuple]:
    """Return getaddrinfo's answers for a host; raise TargetRefused if it has none or any is not public."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise Unresolvable(host) from error
    if not answers:
        raise Unresolvable(host)
    if not allow_private and not all(is_public(answer[4][0]) for answer in answers):
        raise NotPublic(host)
    return answers


def connect(host: str, port: int, timeout: float, allow_private: bool = False) -> socket.socket:
    """Open a TCP connection to one of the checked addresses of ``host``; raise TargetRefused or OSError.

    It connects to the very addresses ``resolve`` checked, never resolving again, so a name that
    changes its answer between the check and the connection (DNS rebinding) gains nothing.
    """
    last_error: OSError | None = None
    for family, kind, proto, _, address in resolve(host, port, allow_private):
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError as error:
            sock.close()
            last_error = error
            continue
        return sock
    raise last_error or OSError("no address could be reached")
