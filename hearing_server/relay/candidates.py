"""Which remote ICE candidates the relay will try: a bounded number, at addresses the
operator allows. A client chooses the addresses the node sends STUN checks to, so an
unchecked answer could point the node at anything (metadata services, link-local
hosts, its own loopback) or at hundreds of targets."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

#: at most this many remote candidates per connection (answer and trickle together)
MAX_REMOTE_CANDIDATES = 16

#: never a target, whatever the settings: link-local (incl. cloud metadata), multicast,
#: unspecified, broadcast, reserved and documentation ranges
DENIED = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "::/128", "fe80::/10", "ff00::/8",
    "2001:db8::/32", "fd00:ec2::254/128",
))
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True)
class CandidatePolicy:
    #: loopback targets only for a node that itself serves on loopback (tests, one machine)
    allow_loopback: bool = False
    max_candidates: int = MAX_REMOTE_CANDIDATES

    def refusal(self, address: str) -> str | None:
        """Why the node will not send checks to ``address``, or None if it may."""
        if address.endswith(".local"):
            return None  # an mDNS name (the browser hides its address)
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"{address[:60]!r} is not an IP address"
        if any(ip in net for net in DENIED):
            return f"{ip} is in a range the node never contacts"
        if not self.allow_loopback and any(ip in net for net in LOOPBACK):
            return f"{ip} is a loopback address"
        return None


def candidate_address(line: str) -> str | None:
    """The connection address of an SDP candidate line (``candidate:...`` or
    ``a=candidate:...``), or None if the line is malformed."""
    body = line.split("candidate:", 1)[1] if "candidate:" in line else line
    parts = body.split()
    return parts[4] if len(parts) >= 8 else None


def filter_answer(sdp: str, policy: CandidatePolicy) -> tuple[str, int]:
    """The answer with refused and surplus ``a=candidate`` lines removed, and how many
    candidates it keeps."""
    kept: list[str] = []
    count = 0
    for line in sdp.splitlines(keepends=True):
        if line.startswith("a=candidate:"):
            address = candidate_address(line.strip())
            if address is None or policy.refusal(address) is not None \
                    or count >= policy.max_candidates:
                continue
            count += 1
        kept.append(line)
    return "".join(kept), count
