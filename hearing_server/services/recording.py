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
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from recording.archive import HearingArchive
from recording.errors import RecordingError
from recording.manifest import Manifest
from recording.seals import SealRegistry
from recording.segment import TrackRecorder
from recording.signing import Signer

from ..domain.hearing import Hearing
from ..domain.policy import is_forwarded
from ..domain.session import MAIN_ROOM, Event, Phase, RecordingState, Session, Settlement
from ..relay.frames import EncodedFrame
from ..relay.sfu import FrameSink, Relay, Track
from ..store.eventlog import EventLog
from ..tasks import TaskSet
from .attendance import attendance
from .ports import RecordContributor, RecordingEvents
from .timeline import minutes, timeline

logger = logging.getLogger(__name__)


@dataclass
class _Recorded:
    track: Track
    recorder: TrackRecorder
    sink: FrameSink


class RecordingService:
    """Observes the live sessions and the relay's tracks; records what the policy says.

    Implements ``ports.RecorderPort`` and ``ports.SessionListener`` and observes the
    relay (``relay.sfu.TrackObserver``); tells the services through ``RecordingEvents``.
    """

    def __init__(self, records_dir: Path, signer: Signer, events: EventLog,
                 segment_seconds: float, relay: Relay, report: RecordingEvents,
                 seals: SealRegistry | None = None,
                 contributors: tuple[RecordContributor, ...] = ()) -> None:
        self.records_dir = records_dir
        self._contributors = contributors
        self._seals = seals
        self._signer = signer
        self._events = events
        self._segment_seconds = segment_seconds
        self._relay = relay
        self._report = report
        self._reported: set[str] = set()
        self._archives: dict[str, HearingArchive] = {}
        self._tracks: dict[str, dict[Track, _Recorded]] = {}
        #: the last session observed per hearing (the store holds the truth)
        self._sessions: dict[str, tuple[Hearing, Session]] = {}
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

    def session_changed(self, hearing: Hearing, session: Session) -> None:
        self._sessions[hearing.id] = (hearing, session)
        self._reconcile(hearing.id)

    def tracks_changed(self, hearing_id: str) -> None:
        self._reconcile(hearing_id)

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
        if entry is None:
            return
        hearing, session = entry
        tracks = self._tracks.setdefault(hearing_id, {})
        recording = session.recording is RecordingState.ON and session.phase is Phase.IN_SESSION
        wanted: set[Track] = set()
        live = self._relay.tracks(hearing_id)
        if recording:
            for track in live:
                member = session.members.get(track.participant_id)
                if (member is not None and member.room == MAIN_ROOM
                        and is_forwarded(session, track.participant_id, track.source)):
                    wanted.add(track)
        if not recording:
            self._reported.discard(hearing_id)
        for key in list(tracks):
            if key not in wanted:
                done = tracks.pop(key)
                self._stop(done)
                self._events.append(hearing_id, Event(
                    "recording_track_stopped", None, key.participant_id, {
                        "source": key.source.value,
                        "reason": "not recorded now" if key in live else "left",
                        "segments": len(done.recorder.segments)}))
        for track in wanted:
            if track not in tracks:
                try:
                    started = self._start(hearing, session, track)
                except RecordingError as exc:
                    self._failed(hearing.id, exc)
                    continue
                if started is None:
                    continue
                tracks[track] = started
                self._events.append(hearing_id, Event(
                    "recording_track_started", None, track.participant_id, {
                        "source": track.source.value, "codec": track.codec}))

    def _start(self, hearing: Hearing, session: Session, track: Track) -> _Recorded | None:
        member = session.members[track.participant_id]
        kind: Literal["audio", "video"] = "audio" if track.kind == "audio" else "video"
        codec: Literal["vp8", "h264", "opus"] = (
            "opus" if kind == "audio" else "h264" if track.codec == "h264" else "vp8")
        recorder = self._archive(hearing).open_track(
            track.participant_id, member.name, member.role.value, kind, codec,
            48000 if kind == "audio" else 90000,
            request_keyframe=lambda: self._relay.request_keyframe(track),
            on_error=lambda exc: self._failed(hearing.id, exc),
            # a screen or an interpretation channel is its own lane, never taken for the
            # camera or the microphone of the same person
            label=track.source.value if track.source.value in ("screen", "interpretation")
            else None,
            source=track.source.value,
            language=track.language,
        )

        def sink(frame: EncodedFrame) -> None:
            recorder.write(frame.data, frame.timestamp, frame.keyframe)
            if hearing.id not in self._reported and recorder.recording:
                self._reported.add(hearing.id)
                self._spawn(self._report.recording_receiving(hearing.id))

        if not self._relay.attach_sink(track, sink):
            recorder.close()
            return None
        self._relay.request_keyframe(track)
        return _Recorded(track, recorder, sink)

    def _stop(self, recorded: _Recorded) -> None:
        self._relay.detach_sink(recorded.track, recorded.sink)
        recorded.recorder.close()

    def _failed(self, hearing_id: str, exc: RecordingError) -> None:
        logger.error("hearing %s: recording failed: %s %s", hearing_id, exc.code, exc)
        self._events.append(hearing_id, Event("recording_failed", None, None,
                                              {"code": exc.code, "detail": str(exc)}))
        self._spawn(self._report.recording_failed(hearing_id, exc.code))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(coro)

    # ---- adjournment -------------------------------------------------------------------

    async def seal(self, hearing: Hearing,
                   settlement: Settlement | None = None) -> dict[str, Any] | None:
        """Close every track, add the event log, attendance and any settlement, and sign
        the manifest. Every adjourned hearing gets a record, with or without media."""
        for recorded in self._tracks.pop(hearing.id, {}).values():
            self._stop(recorded)
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
            # the player's markers and what was not recorded (pauses with reasons, ...)
            "timeline.json": json.dumps(timeline(events), indent=2,
                                        ensure_ascii=False).encode(),
        }
        kept = minutes(events)
        if kept["minutes"]:
            files["minutes.json"] = json.dumps(kept, indent=2, ensure_ascii=False).encode()
        gaps = [e for e in events if e.get("type") in ("hearing_interrupted", "recording_gap")]
        if gaps:
            # what is missing, said plainly: every interruption of the node, and whether
            # the recording had a gap (from, to, seconds, cause)
            files["interruptions.json"] = json.dumps({"interruptions": [
                {k: e.get(k) for k in ("type", "from", "to", "seconds", "cause")}
                for e in gaps]}, indent=2).encode()
        if settlement is not None and settlement.confirmations:
            files["settlement.txt"] = settlement.text.encode()
            files["settlement.json"] = json.dumps(settlement.public(), indent=2,
                                                  ensure_ascii=False).encode()
        for contributor in self._contributors:  # the service record, the exhibits
            files.update(await contributor.record_files(hearing.id))
        manifest = await archive.seal(files, registry=self._seals)
        return {"files": len(manifest.entries), "head": manifest.head}

    async def close(self) -> None:
        for hearing_id in list(self._tracks):
            for recorded in self._tracks.pop(hearing_id).values():
                self._stop(recorded)
        await self._tasks.aclose()
