"""Where an endpoint may point: https:// on public addresses only, unless allowed otherwise.

Every address the host name resolves to is checked (a name with one private address among
public ones is refused), at registration and again before each delivery, so a name later
pointed at an internal service is caught then. The delivery connects to the address that
was checked, never to a second lookup of the name: a name that answers a public address to
the check and an internal one a moment later (DNS rebinding) still reaches only the first.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global excludes loopback, private, link-local (the cloud metadata 169.254.169.254
    # included), shared (100.64/10), reserved, documentation and unspecified ranges.
    return ip.is_global and not ip.is_multicast


def endpoint_url_check(url: str) -> str:
    """Raise ValidationError unless `url` may receive webhooks; else return the address its
    host name resolved to, the one to connect to."""
    parts = urlsplit(url)
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise ValidationError("Webhook addresses must start with https://.")
    if not parts.hostname:
        raise ValidationError("The address has no host name.")
    if parts.username or parts.password:
        raise ValidationError("Put no user name or password in the address.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"The host name {parts.hostname} does not resolve.") from exc
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if not allow_private and not _address_is_public(address):
            raise ValidationError(
                f"{parts.hostname} resolves to {address}, which is not a public address."
            )
    return addresses[0]
