"""Every Redis key the project uses, declared in one place."""

from __future__ import annotations

PREFIX = "hs:"

HEARINGS = PREFIX + "hearings"              # zset of hearing ids by scheduled time


def hearing(hid: str) -> str:
    return f"{PREFIX}hearing:{hid}"         # JSON definition


STAFF = PREFIX + "staff"                    # set of usernames


def staff(username: str) -> str:
    return f"{PREFIX}staff:{username}"      # JSON account


def api_key(digest: str) -> str:
    return f"{PREFIX}apikey:{digest}"       # JSON


API_KEYS = PREFIX + "apikeys"               # set of API key digests


def revoked_token(token_id: str) -> str:
    return f"{PREFIX}revoked_token:{token_id}"  # a signed-out staff session (TTL = its expiry)


def link(link_id: str) -> str:
    return f"{PREFIX}link:{link_id}"        # hash: the link record


def links_of(hid: str) -> str:
    return f"{PREFIX}links:{hid}"           # list of link ids in issue order


def current_link(hid: str, pid: str) -> str:
    return f"{PREFIX}link_current:{hid}:{pid}"  # the one valid link id (others are revoked)


def session(hid: str) -> str:
    return f"{PREFIX}session:{hid}"         # JSON live session (WATCH/MULTI)


NODES = PREFIX + "nodes"                    # set of node ids


def node(node_id: str) -> str:
    return f"{PREFIX}node:{node_id}"        # JSON {url, load, at}, expires without heartbeat


def pin(hid: str) -> str:
    return f"{PREFIX}pin:{hid}"             # node id hosting the hearing's media (TTL)
