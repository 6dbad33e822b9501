"""Where an endpoint may point: https:// on public addresses only, unless allowed otherwise.

Every address the host name resolves to is checked (a name with one private address among
public ones is refused), at registration and again before each delivery, so a name later
pointed at an internal service is caught then.
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


def endpoint_url_check(url: str) -> None:
    """Raise ValidationError unless `url` may receive webhooks."""
    parts = urlsplit(url)
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise ValidationError("Webhook addresses must start with https://.")
    if not parts.hostname:
        raise ValidationError("The address has no host name.")
    if parts.username or parts.password:
        raise ValidationError("Put no user name or password in the address.")
    if allow_private:
        return
    try:
        port = parts.port or 443
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"The host name {parts.hostname} does not resolve.") from exc
    for info in infos:
        address = str(info[4][0])
        if not _address_is_public(address):
            raise ValidationError(
                f"{parts.hostname} resolves to {address}, which is not a public address."
            )
