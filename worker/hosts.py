"""Host names in configured URLs: which ones are this machine.

One rule for SMTP and IMAP: a password may cross an unencrypted connection only to a
loopback server (a test fixture on this machine), never to anything that leaves it.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` (any case, trailing dot allowed) and loopback addresses:
    127.0.0.0/8, ``::1``, and IPv4-mapped ``::ffff:127.x.y.z`` (which the standard
    library does not count as loopback before Python 3.13). Names that merely resolve
    to a loopback address are not trusted: resolution can change under us."""
    if not host:
        return False
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
