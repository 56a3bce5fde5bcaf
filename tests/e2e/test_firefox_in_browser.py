"""A Firefox party (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi)
and a Chromium judge see and hear each other through the relay.

Firefox gathers host candidates only on the default-route interface and does not pair
them with a node bound to loopback (checked again here: with
``media.peerconnection.ice.loopback`` on as well, direct ICE to the node still fails),
so its page is opened with ``?ice=relay``: it reaches the node through a real coturn on
loopback with the TURN credential the node mints on admission (the set-up a firewalled
party has anyway). Firefox refuses a TURN server on loopback too ("your TURN server
appears to be broken") unless ``media.peerconnection.ice.loopback`` is set, which
``firefox/party.mjs`` does.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest

from tests.turn_server import Coturn, coturn

from .conftest import new_page, shot, start_server, stop_server
from .helpers import enter, people, wait_remote_video
from .test_turn_in_browser import relay_only

pytestmark = pytest.mark.timeout(180)

FIREFOX_DIR = Path(__file__).parent / "firefox"


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    with coturn(tmp_path_factory.mktemp("turn")) as server:
        yield server


class FirefoxParty:
    """``party.mjs`` in a subprocess; its JSON lines arrive on a queue."""

    def __init__(self, link: str, remote_pid: str) -> None:
        self.proc = subprocess.Popen(
            ["node", str(FIREFOX_DIR / "party.mjs"), link, remote_pid], cwd=FIREFOX_DIR,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: Queue[dict[str, Any]] = Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                try:
                    self.lines.put(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a log line of node's that happens to start with a brace

    def next(self, timeout: float) -> dict[str, Any]:
        try:
            message = self.lines.get(timeout=timeout)
        except Empty:
            raise AssertionError("Firefox said nothing in time") from None
        assert message["stage"] != "error", message["message"]
        return message

    def close(self) -> str:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("done\n")
            self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.stderr is not None and self.proc.stdin is not None
        said = self.proc.stderr.read()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except OSError:
                    pass  # already gone with the process
        return said


def test_a_firefox_party_and_a_chromium_judge_see_and_hear_each_other(
        tmp_path: Path, turn: Coturn, browser: Any) -> None:
    from playwright.sync_api import expect

    node = start_server(tmp_path / "data", tmp_path / "server.log", env={
        "HEARING_TURN_SECRET": turn.secret,
        "HEARING_TURN_URLS": ",".join(turn.urls("udp")),
        "HEARING_TURN_TTL": "900"})
    judge = None
    party: FirefoxParty | None = None
    try:
        created = node.create_hearing(case_number="C-F", title="Gecko v. Blink",
                                      judge="Judge Ada", party="Sam Party")
        who = people(created)
        judge_id, party_id = who["judge"]["id"], who["party"]["id"]
        judge = new_page(browser)
        enter(judge, who["judge"]["link"], room=True)
        party = FirefoxParty(relay_only(who["party"]["link"]), judge_id)
        assert party.next(60)["stage"] == "lobby"
        expect(judge.locator(f"#admit-{party_id}")).to_be_visible(timeout=15000)
        judge.click(f"#admit-{party_id}")
        seen = party.next(90)
        assert seen["stage"] == "room", seen
        assert "Firefox" in seen["userAgent"]
        # Firefox decodes and plays the judge's video and receives their audio (headless
        # Firefox paints nothing, so getVideoPlaybackQuality counts no frame) ...
        assert seen["width"] > 0 and seen["framesDecoded"] > 20, seen
        assert seen["playedSeconds"] > 1.0, seen
        assert seen["audioPackets"] > 50 and seen["videoPackets"] > 50, seen
        assert seen["audioSinks"] >= 1 and seen["errors"] == [], seen
        assert seen["candidate"] and seen["candidate"]["type"] == "relay", seen
        # ... and the judge (Chromium) sees and hears Firefox's fake camera and microphone
        wait_remote_video(judge, party_id)
        judge.wait_for_function(
            "() => document.querySelectorAll('#audio-sink audio').length > 0")
        shot(judge, "firefox-party-seen-by-chromium-judge")
        assert not judge.js_errors, judge.js_errors
    except Exception:
        print(node.log()[-4000:])
        if party is not None:
            print(party.close()[-4000:])
        raise
    finally:
        if party is not None:
            party.close()
        if judge is not None:
            judge.context.close()
        stop_server(node)
