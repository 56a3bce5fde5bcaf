"""Recording a hearing into its case record, from the relay's encoded frames.

While the hearing is in session with recording on, every track the policy
forwards in the main room is recorded (caucuses never are) — packets in, no
transcoding (see ``recording/``). Pausing closes the current segments; the
pause and its reason are in the event log. At adjournment the record gets the
event log and attendance and the manifest is signed with the node's key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recording.archive import HearingArchive
from recording.errors import RecordingError
from recording.manifest import Manifest
from recording.segment import TrackRecorder
from recording.signing import Signer

from ..domain.hearing import Hearing
from ..domain.policy import is_forwarded
from ..domain.session import MAIN_ROOM, Event, Phase, RecordingState, Session, Settlement
from ..relay.forwarding import Producer
from ..relay.frames import EncodedFrame
from ..relay.router import Router
from ..store.eventlog import EventLog
from ..tasks import TaskSet

logger = logging.getLogger(__name__)

FailureFn = Callable[[str, str], Coroutine[Any, Any, None]]
ReceivingFn = Callable[[str], Coroutine[Any, Any, None]]


@dataclass
class _Track:
    producer: Producer
    recorder: TrackRecorder
    sink: Callable[[EncodedFrame], None]


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
        elif t in ("disconnected", "left", "removed", "denied") and pid in present_since:
            start = present_since.pop(pid)
            person(pid)["periods"].append({"from": start, "to": e["ts"], "end": t})
        elif t == "joined" and e.get("role"):
            person(pid)["role"] = e["role"]
    end = events[-1]["ts"] if events else 0.0
    for pid, start in present_since.items():
        person(pid)["periods"].append({"from": start, "to": end, "end": "adjourned"})
    return {"participants": list(people.values())}


class RecordingService:
    def __init__(self, records_dir: Path, signer: Signer, events: EventLog,
                 segment_seconds: float, on_failure: FailureFn,
                 on_receiving: ReceivingFn | None = None) -> None:
        self.records_dir = records_dir
        self._signer = signer
        self._events = events
        self._segment_seconds = segment_seconds
        self._on_failure = on_failure
        self._on_receiving = on_receiving
        self._reported: set[str] = set()
        self._archives: dict[str, HearingArchive] = {}
        self._tracks: dict[str, dict[int, _Track]] = {}
        self._sessions: dict[str, tuple[Hearing, Session]] = {}
        self._routers: dict[str, Router] = {}
        self._tasks = TaskSet()

    def folder(self, hearing_id: str) -> Path:
        return self.records_dir / hearing_id

    def recover(self) -> int:
        """At start-up: recover what a crash left in every unsealed record."""
        count = 0
        if not self.records_dir.exists():
            return 0
        for folder in sorted(p for p in self.records_dir.iterdir() if p.is_dir()):
            if not (folder / "manifest.json").exists():
                continue
            try:
                manifest = Manifest.load(folder)
                if manifest.sealed:
                    continue
                archive = HearingArchive(folder, manifest.hearing_id, manifest.case_number,
                                         self._signer, segment_seconds=self._segment_seconds)
                recovered = archive.recover()
            except (RecordingError, OSError, ValueError, KeyError) as exc:
                logger.error("could not recover the record in %s: %s", folder, exc)
                continue
            if recovered:
                count += len(recovered)
                self._events.append(folder.name, Event("recording_recovered", None, None, {
                    "segments": [s.file_name for s in recovered]}))
        return count

    # ---- following the hearing ------------------------------------------------------

    def watch(self, hearing: Hearing, router: Router) -> None:
        if self._routers.get(hearing.id) is router:
            return
        self._routers[hearing.id] = router
        router.on_new_producer(lambda p: self._reconcile(hearing.id))

    def apply(self, hearing: Hearing, session: Session) -> None:
        self._sessions[hearing.id] = (hearing, session)
        self._reconcile(hearing.id)

    def recording_tracks(self, hearing_id: str) -> int:
        return len(self._tracks.get(hearing_id, {}))

    def _archive(self, hearing: Hearing) -> HearingArchive:
        archive = self._archives.get(hearing.id)
        if archive is None:
            archive = HearingArchive(self.folder(hearing.id), hearing.id, hearing.case_number,
                                     self._signer, segment_seconds=self._segment_seconds)
            archive.recover()
            self._archives[hearing.id] = archive
        return archive

    def _reconcile(self, hearing_id: str) -> None:
        entry = self._sessions.get(hearing_id)
        router = self._routers.get(hearing_id)
        if entry is None:
            return
        hearing, session = entry
        tracks = self._tracks.setdefault(hearing_id, {})
        recording = session.recording is RecordingState.ON and session.phase is Phase.IN_SESSION
        wanted: dict[int, Producer] = {}
        if recording and router is not None and not router.closed:
            for producer in router.producers.values():
                member = session.members.get(producer.participant_id)
                if (member is not None and member.room == MAIN_ROOM and not producer.closed
                        and is_forwarded(session, producer.participant_id, producer.source)):
                    wanted[id(producer)] = producer
        if not recording:
            self._reported.discard(hearing_id)
        for key in list(tracks):
            if key not in wanted or tracks[key].producer.closed:
                track = tracks.pop(key)
                self._stop(track)
                self._events.append(hearing_id, Event(
                    "recording_track_stopped", None, track.producer.participant_id, {
                        "source": track.producer.source.value,
                        "reason": "left" if track.producer.closed else "not recorded now",
                        "segments": len(track.recorder.segments)}))
        for key, producer in wanted.items():
            if key not in tracks:
                try:
                    tracks[key] = self._start(hearing, session, producer)
                except RecordingError as exc:
                    self._failed(hearing.id, exc)
                    continue
                self._events.append(hearing_id, Event(
                    "recording_track_started", None, producer.participant_id, {
                        "source": producer.source.value, "codec": producer.codec}))

    def _start(self, hearing: Hearing, session: Session, producer: Producer) -> _Track:
        member = session.members[producer.participant_id]
        kind = "audio" if producer.kind == "audio" else "video"
        recorder = self._archive(hearing).open_track(
            producer.participant_id, member.name, member.role.value, kind,  # type: ignore[arg-type]
            producer.codec,  # type: ignore[arg-type]
            48000 if kind == "audio" else 90000,
            request_keyframe=producer.request_keyframe,
            on_error=lambda exc: self._failed(hearing.id, exc),
            label=producer.source.value if producer.source.value == "screen" else None,
        )

        def sink(frame: EncodedFrame) -> None:
            recorder.write(frame.data, frame.timestamp, frame.keyframe)
            if hearing.id not in self._reported and recorder.recording:
                self._reported.add(hearing.id)
                if self._on_receiving is not None:
                    self._spawn(self._on_receiving(hearing.id))

        producer.sinks.append(sink)
        producer.request_keyframe()
        return _Track(producer, recorder, sink)

    @staticmethod
    def _stop(track: _Track) -> None:
        if track.sink in track.producer.sinks:
            track.producer.sinks.remove(track.sink)
        track.recorder.close()

    def _failed(self, hearing_id: str, exc: RecordingError) -> None:
        logger.error("hearing %s: recording failed: %s %s", hearing_id, exc.code, exc)
        self._events.append(hearing_id, Event("recording_failed", None, None,
                                              {"code": exc.code, "detail": str(exc)}))
        self._spawn(self._on_failure(hearing_id, exc.code))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(coro)

    # ---- adjournment -------------------------------------------------------------------

    async def seal(self, hearing: Hearing,
                   settlement: Settlement | None = None) -> dict[str, Any] | None:
        """Close every track, add the event log, attendance and any settlement, and sign
        the manifest. Every adjourned hearing gets a record, with or without media."""
        for track in self._tracks.pop(hearing.id, {}).values():
            self._stop(track)
        self._routers.pop(hearing.id, None)
        self._sessions.pop(hearing.id, None)
        archive = self._archives.pop(hearing.id, None)
        if archive is None:
            archive = self._archive(hearing)
            self._archives.pop(hearing.id, None)
        events = self._events.read(hearing.id)
        log_bytes = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n"
                            for e in events).encode()
        files: dict[str, bytes | Path] = {
            "events.jsonl": log_bytes,
            "attendance.json": json.dumps(attendance(events), indent=2).encode(),
        }
        if settlement is not None and settlement.confirmations:
            files["settlement.txt"] = settlement.text.encode()
            files["settlement.json"] = json.dumps(settlement.public(), indent=2,
                                                  ensure_ascii=False).encode()
        manifest = await archive.seal(files)
        return {"files": len(manifest.entries), "head": manifest.head}

    async def close(self) -> None:
        for hearing_id in list(self._tracks):
            for track in self._tracks.pop(hearing_id).values():
                self._stop(track)
        self._tasks.cancel()
