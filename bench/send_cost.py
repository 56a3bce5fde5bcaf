"""CPU of the relay's send path per frame and subscriber, in process: one publisher,
one subscriber through a real Router, then ``FastSender.send`` timed on its own for
600 recorded frames, five rounds. An A/B against older code runs it from that tree:

    .venv/bin/python -m bench.send_cost video        # or audio
    .venv/bin/python -m bench.send_cost fanout-video # or fanout-audio: 8 subscribers
    .venv/bin/python -m bench.send_cost fanout-video 24
    .venv/bin/python -m bench.send_cost ingest       # a publisher's packets, received
    mkdir /tmp/old && git archive <commit> hearing_server recording signaling | tar -x -C /tmp/old
    cd /tmp/old && PYTHONPATH=$OLDPWD $OLDPWD/.venv/bin/python -m bench.send_cost video

(the current directory comes first on the path, so ``hearing_server`` is the old
one while ``bench`` and ``tests`` come from this checkout).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from hearing_server.domain.roles import Role
from hearing_server.relay.frames import EncodedFrame

from .media import cached_clips


async def measure(kind: str, frames: int = 600, rounds: int = 5) -> dict[str, object]:
    from tests.relay.harness import Harness, wait_for  # the in-process relay harness

    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames("video") > 10, 15)
        slot = next(s for s in h.router.peers["party"].slots if s.kind == kind)
        assert slot.fast is not None
        video, audio = cached_clips()
        clip = audio if kind == "audio" else video
        data = [d for d, key in clip.packets if kind == "audio" or not key][:30]
        out = []
        for r in range(rounds):
            spent = 0.0
            for i in range(frames):
                frame = EncodedFrame(data[i % len(data)], clip.step * (i + frames * r), False,
                                     time.perf_counter())
                t0 = time.process_time()
                slot.fast.send(frame)
                spent += time.process_time() - t0
                if i % 40 == 39:
                    await asyncio.sleep(0.01)  # let the subscriber drain its socket
            out.append(round(spent / frames * 1e6, 1))
        return {"kind": kind, "us_per_frame": out, "median": sorted(out)[len(out) // 2]}
    finally:
        await h.close()


async def fanout(kind: str, subscribers: int = 8, frames: int = 300,
                 rounds: int = 5) -> dict[str, object]:
    """CPU of handing one frame to ``subscribers`` slots (``Producer.on_frame``: the
    whole fan-out, sends included), per frame and subscriber."""
    from tests.relay.harness import Harness, wait_for

    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        names = [f"observer{i}" for i in range(subscribers)]
        for name in names:
            await h.join(name, Role.OBSERVER, publish=False)
        await wait_for(lambda: all(h.clients[n].frames("video") > 10 for n in names), 30)
        producer = next(p for p in h.router.producers.values() if p.kind == kind)
        assert len(producer.consumers) == subscribers
        video, audio = cached_clips()
        clip = audio if kind == "audio" else video
        data = [d for d, key in clip.packets if kind == "audio" or not key][:30]
        out = []
        for r in range(rounds):
            spent = 0.0
            for i in range(frames):
                frame = EncodedFrame(data[i % len(data)], clip.step * (i + frames * r), False,
                                     time.perf_counter())
                t0 = time.process_time()
                producer.on_frame(frame)
                spent += time.process_time() - t0
                if i % 10 == 9:
                    await asyncio.sleep(0.01)  # let the subscribers drain their sockets
            out.append(round(spent / frames / subscribers * 1e6, 1))
        return {"kind": kind, "subscribers": subscribers, "us_per_frame_and_subscriber": out,
                "median": sorted(out)[len(out) // 2]}
    finally:
        await h.close()


async def ingest(seconds: float = 4.0, rounds: int = 5) -> dict[str, object]:
    """CPU of receiving one publisher packet (from the socket's callback: SRTP, RTP,
    statistics, bandwidth estimate, NACK, jitter buffer, the frame to the producer),
    by media kind, with one subscriber; microseconds per packet."""
    from tests.relay.harness import Harness, wait_for

    h = Harness()
    try:
        await h.join("judge", Role.JUDGE)
        party = await h.join("party", Role.PARTY, publish=False)
        await wait_for(lambda: party.frames("video") > 10, 15)
        judge = h.router.peers["judge"]
        dtls = next(t.receiver.transport for t in judge.pc.getTransceivers()
                    if t.receiver.track is not None)
        kinds = {}
        for t in judge.pc.getTransceivers():
            for codec in t.receiver.__dict__["_RTCRtpReceiver__codecs"].values():
                kinds[codec.payloadType] = t.kind
        spent = {"audio": 0.0, "video": 0.0}
        count = {"audio": 0, "video": 0}

        def timing(received: Any) -> Any:
            def timed(data: bytes, addr: Any) -> None:
                t0 = time.thread_time()  # this thread: the clients' decoders are others
                received(data, addr)
                kind = kinds.get(data[1] & 0x7F) if len(data) > 1 else None
                if kind is not None:
                    spent[kind] += time.thread_time() - t0
                    count[kind] += 1
            return timed

        for p in dtls.transport._connection._protocols:
            p.datagram_received = timing(p.datagram_received)  # type: ignore[method-assign]
        out: dict[str, list[float]] = {"audio": [], "video": []}
        for _ in range(rounds):
            for kind in spent:
                spent[kind], count[kind] = 0.0, 0
            await asyncio.sleep(seconds)
            for kind in spent:
                out[kind].append(round(spent[kind] / max(count[kind], 1) * 1e6, 1))
        return {"us_per_packet": out,
                "median": {k: sorted(v)[len(v) // 2] for k, v in out.items()}}
    finally:
        await h.close()


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "video"
    if what.startswith("fanout-"):  # fanout-video, fanout-audio[, subscribers]
        count = int(sys.argv[2]) if len(sys.argv) > 2 else 8
        print(json.dumps(asyncio.run(fanout(what.split("-", 1)[1], count))))
    elif what == "ingest":
        print(json.dumps(asyncio.run(ingest())))
    else:
        print(json.dumps(asyncio.run(measure(what))))


if __name__ == "__main__":
    main()
