"""The hearing's timeline and minutes, read from its event log (for the sealed record
and the record player).

``timeline(events)`` gives the markers a reviewer jumps to (session start, admissions,
recording start / pause with its reason / resume / stop, caucuses, recesses,
interruptions of the node, exhibits, minutes, adjournment, a participant's media
connection lost and back with the gap) and the periods that were
*not* recorded (``unrecorded``: pauses with their reasons, recesses, caucuses, gaps
after an interruption). ``minutes(events)`` is the clerk's timestamped minutes.
"""

from __future__ import annotations

from typing import Any, Final

#: event type -> marker kind
MARKERS: Final = {
    "session_started": "session_start",
    "admitted": "admit",
    "recording_start": "recording_start",
    "recording_pause": "recording_pause",
    "recording_resume": "recording_resume",
    "recording_stop": "recording_stop",
    "caucus_opened": "caucus_open",
    "caucuses_closed": "caucus_end",
    "recess": "recess",
    "resumed": "resume",
    "hearing_interrupted": "interruption",
    "recording_gap": "interruption",
    "exhibit_offered": "exhibit_offered",
    "exhibit_status": "exhibit",
    "exhibit_shown": "exhibit_shown",
    "minute": "minute",
    "adjourned": "adjourned",
    "media_lost": "media_lost",
    "media_restored": "media_restored",
}
_DETAIL_KEYS: Final = ("reason", "caucus", "text", "cause", "seconds", "exhibit_id",
                       "status", "title", "role", "code", "gap_seconds")


def _marker(e: dict[str, Any]) -> dict[str, Any]:
    marker: dict[str, Any] = {"ts": e.get("ts"), "at": e.get("at"),
                              "kind": MARKERS[str(e.get("type"))],
                              "actor": e.get("actor"), "subject": e.get("subject")}
    for key in _DETAIL_KEYS:
        if e.get(key) is not None:
            marker[key] = e[key]
    return marker


def timeline(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Markers and the periods not recorded, in order of time."""
    markers = [_marker(e) for e in events if e.get("type") in MARKERS]
    unrecorded: list[dict[str, Any]] = []
    open_since: dict[str, tuple[float, str]] = {}

    def begin(key: str, ts: float, reason: str) -> None:
        open_since.setdefault(key, (ts, reason))

    def end(key: str, ts: float) -> None:
        if key in open_since:
            start, reason = open_since.pop(key)
            unrecorded.append({"kind": key, "from": start, "to": ts, "reason": reason})

    for e in events:
        t, ts = e.get("type"), float(e.get("ts") or 0.0)
        if t == "recording_pause":
            begin("pause", ts, str(e.get("reason") or ""))
        elif t in ("recording_resume", "recording_stop"):
            end("pause", ts)
        elif t == "recess":
            begin("recess", ts, "recess")
        elif t == "resumed":
            end("recess", ts)
        elif t == "caucus_opened":
            begin("caucus", ts, str(e.get("caucus") or ""))
        elif t == "caucuses_closed":
            end("caucus", ts)
        elif t in ("hearing_interrupted", "recording_gap"):
            start, stop = e.get("from"), e.get("to")
            if isinstance(start, (int, float)) and isinstance(stop, (int, float)):
                unrecorded.append({"kind": "interruption", "from": float(start),
                                   "to": float(stop), "reason": str(e.get("cause") or "")})
    last = float(events[-1].get("ts") or 0.0) if events else 0.0
    for key in list(open_since):
        end(key, last)
    unrecorded.sort(key=lambda p: (p["from"], p["to"]))
    start_ts = next((m["ts"] for m in markers if m["kind"] == "session_start"), None)
    return {"start": start_ts, "end": last if events else None, "markers": markers,
            "unrecorded": unrecorded}


def minutes(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The clerk's minutes: one entry per ``minute`` event, in order."""
    return {"minutes": [{"ts": e.get("ts"), "at": e.get("at"), "by": e.get("actor"),
                         "text": e.get("text")}
                        for e in events if e.get("type") == "minute"]}
