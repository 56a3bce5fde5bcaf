"""Who was present when, read from a hearing's event log (for the sealed record)."""

from __future__ import annotations

from typing import Any


def attendance(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Who was present when, from the event log (joins, admissions, departures)."""
    people: dict[str, dict[str, Any]] = {}
    present_since: dict[str, float] = {}

    def person(pid: str) -> dict[str, Any]:
        return people.setdefault(pid, {"participant_id": pid, "role": None, "periods": []})

    for e in events:
        pid = e.get("subject")
        if not pid:
            continue
        t = e.get("type")
        if (t in ("joined", "rejoined") and e.get("state") == "admitted") or t == "admitted":
            if e.get("role"):
                person(pid)["role"] = e["role"]
            present_since.setdefault(pid, e["ts"])
            person(pid)
        elif t in ("disconnected", "left", "removed", "denied", "sent_to_lobby") \
                and pid in present_since:
            start = present_since.pop(pid)
            person(pid)["periods"].append({"from": start, "to": e["ts"], "end": t})
        elif t == "joined" and e.get("role"):
            person(pid)["role"] = e["role"]
    end = events[-1]["ts"] if events else 0.0
    for pid, start in present_since.items():
        person(pid)["periods"].append({"from": start, "to": end, "end": "adjourned"})
    return {"participants": list(people.values())}
