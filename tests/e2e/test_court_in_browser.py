"""The hearing room at court size: refused devices, many participants, phones (issue 14).

Debian's Chromium with a fake camera and microphone; the real server in a subprocess.
A refused device is refused by the browser context's permissions, as a person would.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, SCREENSHOTS, Server, free_port, shot
from .helpers import people, wait_remote_video

pytestmark = pytest.mark.timeout(240)

INBOUND_AUDIO = """async (ms) => {
  const pc = window.hearingApp.media.pc;
  const count = async () => {
    let n = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") n += s.packetsReceived || 0;
    });
    return n;
  };
  const a = await count();
  await new Promise((r) => setTimeout(r, ms));
  return (await count()) - a;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium without ``--use-fake-ui-for-media-stream``, which would grant every
    device whatever the context's permissions say: here a device left out is refused."""
    from playwright.sync_api import sync_playwright

    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield b
        finally:
            b.close()


class SocketGuests:
    """Participants without a camera, joined over socket.io in a thread of their own:
    they wait in the lobby and are admitted like anyone (the judge's page is what is
    under test), without a Chromium each on a two-core machine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clients: list[Any] = []

    def join(self, link: str) -> None:
        import socketio

        async def go() -> None:
            sio = socketio.AsyncClient(reconnection=False)
            await sio.connect(self.url, namespaces=["/hearing"],
                              auth={"token": link.split("#", 1)[1]},
                              transports=["websocket"], wait_timeout=5)
            await sio.call("hello", {}, namespace="/hearing", timeout=5)
            self.clients.append(sio)

        asyncio.run_coroutine_threadsafe(go(), self.loop).result(timeout=15)

    def close(self) -> None:
        async def go() -> None:
            for sio in self.clients:
                await sio.disconnect()

        try:
            asyncio.run_coroutine_threadsafe(go(), self.loop).result(timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
            self.loop.close()


def shot_path(name: str) -> Any:
    """Where a viewport (not full-page) screenshot goes: what the phone shows."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def page_with(browser: Any, permissions: list[str], width: int = 1280,
              height: int = 800, bypass_csp: bool = False) -> Any:
    """A page whose browser allows only ``permissions`` (the others are refused)."""
    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": height},
                                  permissions=permissions, bypass_csp=bypass_csp)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    return page


def test_a_refused_camera_still_speaks_and_a_refused_microphone_is_still_seen(
        server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-14-1", title="Refusals",
                                    judge="Judge Ada", party="Sam Sound", witness="Vi Video")
    who = people(created)
    judge_id = who["judge"]["id"]
    judge = page_with(browser, ["camera", "microphone"])
    sound = page_with(browser, ["microphone"])
    video = page_with(browser, ["camera"])
    try:
        judge.goto(who["judge"]["link"])
        judge.click("#dc-start")
        expect(judge.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                 timeout=15000)
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)

        # -- the camera is refused: the microphone still works, the page says sound only
        sound.goto(who["party"]["link"])
        sound.click("#dc-start")
        expect(sound.locator("#device-check")).to_have_attribute("data-state", "partial",
                                                                 timeout=15000)
        msgs = sound.locator("#dc-messages")
        expect(msgs.locator('[data-key="dc.err_camera_denied"]')).to_be_visible()
        expect(msgs.locator('[data-key="dc.audio_only"]')).to_have_text(
            "You will enter with sound only: the court will hear you but will not see you.")
        expect(msgs).not_to_contain_text("neither see nor hear")
        sound.wait_for_function(
            "() => Number(document.querySelector('#dc-meter').getAttribute('aria-valuenow'))"
            " > 5", timeout=15000)
        shot(sound, "c14-01-camera-refused-device-check")
        sound.click("#enter-btn")
        expect(sound.locator("#screen-lobby")).to_be_visible(timeout=15000)

        # -- the microphone is refused: the camera still works, the page says video only
        video.goto(who["witness"]["link"])
        video.click("#dc-start")
        expect(video.locator("#device-check")).to_have_attribute("data-state", "partial",
                                                                 timeout=15000)
        vmsgs = video.locator("#dc-messages")
        expect(vmsgs.locator('[data-key="dc.err_mic_denied"]')).to_be_visible()
        expect(vmsgs.locator('[data-key="dc.video_only"]')).to_be_visible()
        video.wait_for_function("() => document.querySelector('#dc-video').videoWidth > 0",
                                timeout=15000)
        shot(video, "c14-02-microphone-refused-device-check")
        video.click("#enter-btn")
        expect(video.locator("#screen-lobby")).to_be_visible(timeout=15000)

        # -- admitted, the court hears the one and sees the other
        for pid in (who["party"]["id"], who["witness"]["id"]):
            judge.click(f"#admit-{pid}")
        expect(sound.locator("#screen-room")).to_be_visible(timeout=15000)
        expect(video.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(judge, who["witness"]["id"])
        wait_remote_video(sound, judge_id)
        wait_remote_video(video, judge_id)
        judge.wait_for_function(
            "() => document.querySelectorAll('#audio-sink audio').length > 0", timeout=20000)
        # the judge's page receives audio packets (the party's microphone; the witness has none)
        assert int(judge.evaluate(INBOUND_AUDIO, 2000)) > 20
        # and the party's page sends audio, no video
        sent = sound.evaluate("""async () => {
          const out = {};
          (await window.hearingApp.media.pc.getStats()).forEach((s) => {
            if (s.type === "outbound-rtp") out[s.kind] = (out[s.kind] || 0) + (s.packetsSent || 0);
          });
          return out; }""")
        assert sent.get("audio", 0) > 20, sent
        assert sent.get("video", 0) == 0, sent
        shot(judge, "c14-03-judge-hears-sound-only-sees-video-only")
        assert sound.js_errors == [] and video.js_errors == [], (sound.js_errors,
                                                                   video.js_errors)
    except Exception:
        for name, p in (("judge", judge), ("sound", sound), ("video", video)):
            shot(p, f"c14-zz-failure-{name}")
        print(server.log())
        raise
    finally:
        for p in (judge, sound, video):
            p.context.close()


def test_the_judges_panel_holds_eight_participants_on_one_screen(server: Server,
                                                                 browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(
        case_number="C-14-2", title="A full courtroom", judge="Judge Ada",
        party=["Sam Party", "Maximiliana Theodora Papadopoulou-Wojciechowska"],
        counsel="Cy Counsel", witness="Wes Witness", interpreter="Ivo Interpreter",
        observer=["Obi Observer", "Ola Observer"])
    by_name = {p["name"]: p for p in created["participants"]}
    judge = page_with(browser, ["camera", "microphone"])
    party = page_with(browser, ["camera", "microphone"])
    guests = SocketGuests(server.url)
    try:
        judge.goto(by_name["Judge Ada"]["link"])
        judge.click("#dc-start")
        expect(judge.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                 timeout=15000)
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)

        # -- the first arrival: a chime and a notice at the top of the panel
        party.goto(by_name["Sam Party"]["link"])
        party.click("#dc-start")
        expect(party.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                 timeout=15000)
        party.click("#enter-btn")
        expect(party.locator("#screen-lobby")).to_be_visible(timeout=15000)
        expect(judge.locator("#lobby-alert")).to_have_text("Sam Party is waiting in the lobby.")
        expect(judge.locator("#mod-panel")).to_have_attribute("data-chimes", "1")
        judge.click(f"#admit-{by_name['Sam Party']['id']}")
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(judge, by_name["Sam Party"]["id"])

        # -- four more are admitted one by one, the two observers wait: the panel scrolls
        #    to the bottom, and the lobby queue and its Admit buttons are still in view
        for name in ("Maximiliana Theodora Papadopoulou-Wojciechowska", "Cy Counsel",
                     "Wes Witness", "Ivo Interpreter"):
            guests.join(by_name[name]["link"])
            judge.click(f"#admit-{by_name[name]['id']}")
            expect(judge.locator(f'#mod-people [data-participant-id="{by_name[name]["id"]}"]')
                   ).to_be_visible()
        for name in ("Obi Observer", "Ola Observer"):
            guests.join(by_name[name]["link"])
        expect(judge.locator("#lobby-list [data-participant-id]")).to_have_count(2)
        expect(judge.locator("#lobby-alert")).to_contain_text("Ola Observer")
        assert int(judge.locator("#mod-panel").get_attribute("data-chimes") or 0) >= 7
        expect(judge.locator("#mod-people [data-participant-id]")).to_have_count(5)
        judge.evaluate("() => { const s = document.querySelector('#side-panel');"
                       " s.scrollTop = s.scrollHeight; }")
        for name in ("Obi Observer", "Ola Observer"):
            expect(judge.locator(f"#admit-{by_name[name]['id']}")).to_be_in_viewport()
        expect(judge.locator("#admit-all")).to_be_in_viewport()
        # a name is never squeezed into a column: every row's name is one line wide
        heights = judge.evaluate("""() => [...document.querySelectorAll(
            '#mod-panel .person-name')].map((n) => n.getBoundingClientRect().height)""")
        assert heights and max(heights) < 30, heights
        widths = judge.evaluate("""() => [...document.querySelectorAll(
            '#mod-panel .person-name')].map((n) => n.getBoundingClientRect().width)""")
        assert min(widths) > 60, widths
        # a room of eight fits: every participant row is on the judge's 800 px screen
        # within one panel scroll, and each row is compact
        rows = judge.evaluate("""() => [...document.querySelectorAll(
            '#mod-people .mod-row')].map((n) => n.getBoundingClientRect().height)""")
        assert max(rows) < 75, rows
        shot(judge, "c14-10-judge-panel-eight-scrolled")

        # -- admit all lets the public gallery in at once
        judge.click("#admit-all")
        expect(judge.locator("#lobby-list [data-participant-id]")).to_have_count(0)
        expect(judge.locator("#mod-people [data-participant-id]")).to_have_count(7)
        expect(judge.locator("#mod-status")).to_contain_text("Admitted 2 people")
        judge.evaluate("() => { document.querySelector('#side-panel').scrollTop = 0; }")
        shot(judge, "c14-11-judge-panel-eight-admitted")
        # -- in a full room each row is one line; its actions open one person at a time
        wes = by_name["Wes Witness"]["id"]
        expect(judge.locator(f"#force-mute-{wes}")).to_have_count(0)
        judge.click(f"#actions-{wes}")
        expect(judge.locator(f"#actions-{wes}")).to_have_attribute("aria-expanded", "true")
        judge.click(f"#force-mute-{wes}")
        expect(judge.locator(f"#lift-mute-{wes}")).to_be_visible()
        expect(judge.locator(f'#mod-people [data-participant-id="{wes}"]')).to_contain_text(
            "muted by the court")
        shot(judge, "c14-12-judge-panel-row-actions")
        assert judge.js_errors == [], judge.js_errors
    except Exception:
        shot(judge, "c14-zz-failure-panel-judge")
        print(server.log())
        raise
    finally:
        guests.close()
        judge.context.close()
        party.context.close()


def test_a_server_killed_mid_hearing_pages_say_so_and_return_to_the_true_state(
        tmp_path: Any, browser: Any) -> None:
    """Issue 13, the page side: SIGKILL during a recorded session, restart on the same
    port and data; while it is down no page claims "In session · Recording"; back up,
    both pages return to the restored state by themselves and media flows again."""
    import time

    from playwright.sync_api import expect

    from .conftest import start_server, stop_server

    data, port = tmp_path / "data", free_port()
    srv = start_server(data, tmp_path / "before.log", port=port)
    again: Server | None = None
    created = srv.create_hearing(case_number="C-13-1", title="Survives",
                                 judge="Judge Ada", party="Sam Party")
    who = people(created)
    judge_id, party_id = who["judge"]["id"], who["party"]["id"]
    judge = page_with(browser, ["camera", "microphone"])
    party = page_with(browser, ["camera", "microphone"])
    try:
        for page, link in ((judge, who["judge"]["link"]), (party, who["party"]["link"])):
            page.goto(link)
            page.click("#dc-start")
            expect(page.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                    timeout=15000)
            page.click("#enter-btn")
            if page is judge:
                expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)
        judge.click(f"#admit-{party_id}")
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        judge.click("#conduct-start")
        try:
            expect(judge.locator("#recording-badge")).to_have_attribute(
                "data-recording", "on", timeout=3000)
        except AssertionError:
            judge.click("#rec-start")
        for page in (judge, party):
            expect(page.locator("#phase-badge")).to_have_attribute("data-phase", "in_session")
            expect(page.locator("#recording-badge")).to_have_attribute("data-recording", "on")
        wait_remote_video(judge, party_id)
        wait_remote_video(party, judge_id)

        # -- SIGKILL: the pages stop claiming a state nobody can confirm
        srv.process.kill()
        srv.process.wait(timeout=10)
        for page in (judge, party):
            expect(page.locator("#phase-badge")).to_have_attribute("data-phase", "unknown",
                                                                   timeout=15000)
            expect(page.locator("#recording-badge")).to_have_attribute(
                "data-recording", "unknown")
            expect(page.locator("#recording-badge")).not_to_have_text("Recording")
            expect(page.locator("#phase-badge")).to_have_text("Connection to the court lost")
        expect(judge.locator("#rec-state")).to_have_text("Recording: unknown")
        expect(judge.locator("#conduct-adjourn")).to_be_disabled()
        shot(judge, "c13-01-judge-server-down")
        shot(party, "c13-02-party-server-down")

        # -- restart: both pages return by themselves, recording on, the gap is said
        started = time.monotonic()
        again = start_server(data, tmp_path / "after.log", port=port)
        for page in (judge, party):
            expect(page.locator("#phase-badge")).to_have_attribute("data-phase", "in_session",
                                                                   timeout=30000)
            expect(page.locator("#recording-badge")).to_have_attribute("data-recording", "on")
            expect(page.locator("#notice-interrupted")).to_contain_text(
                "the gap is entered in the record")
        wait_remote_video(judge, party_id)
        wait_remote_video(party, judge_id)
        elapsed = time.monotonic() - started
        print(f"restart to media flowing both ways: {elapsed:.1f} s")
        assert elapsed < 30, elapsed
        expect(judge.locator(f'#mod-people [data-participant-id="{party_id}"]')).not_to_contain_text(
            "Reconnecting")
        shot(judge, "c13-03-judge-after-restart")
        shot(party, "c13-04-party-after-restart")
        assert judge.js_errors == [] and party.js_errors == [], (judge.js_errors,
                                                                   party.js_errors)
    except Exception:
        shot(judge, "c13-zz-failure-judge")
        shot(party, "c13-zz-failure-party")
        print(srv.log())
        if again is not None:
            print(again.log())
        raise
    finally:
        judge.context.close()
        party.context.close()
        stop_server(srv)
        if again is not None:
            stop_server(again)


def test_a_lost_media_connection_heals_itself_with_the_room_on_screen(server: Server,
                                                                      browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-13-2", title="Heals",
                                    judge="Judge Ada", party="Sam Party")
    who = people(created)
    judge_id, party_id = who["judge"]["id"], who["party"]["id"]
    judge = page_with(browser, ["camera", "microphone"])
    party = page_with(browser, ["camera", "microphone"])
    try:
        for page, link in ((judge, who["judge"]["link"]), (party, who["party"]["link"])):
            page.goto(link)
            page.click("#dc-start")
            expect(page.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                    timeout=15000)
            page.click("#enter-btn")
            if page is judge:
                expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)
        judge.click(f"#admit-{party_id}")
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(judge, party_id)
        wait_remote_video(party, judge_id)
        health = judge.locator(f"#media-{party_id}")
        expect(health).to_have_attribute("data-media", "connected", timeout=15000)
        expect(health).to_contain_text("Sending")
        # -- the party's side of the media connection dies (its ICE and DTLS close) while
        #    signalling stays up: the node notices, the party's room stays with a notice,
        #    a new connection is made with no click, and the court sees the gap
        party.evaluate("""() => { window.__oldPc = window.hearingApp.media.pc;
          window.__oldPc.close(); }""")
        expect(party.locator("#notice-media-problem")).to_contain_text("Reconnecting",
                                                                      timeout=15000)
        expect(party.locator("#screen-room")).to_be_visible()
        shot(party, "c13-10-party-media-reconnecting")
        party.wait_for_function(
            "() => window.hearingApp.media.pc && window.hearingApp.media.pc !== window.__oldPc"
            " && window.hearingApp.media.pc.connectionState === 'connected'", timeout=20000)
        wait_remote_video(party, judge_id)
        wait_remote_video(judge, party_id)
        expect(health).to_have_attribute("data-media", "connected", timeout=15000)
        expect(health).to_contain_text("last media gap", timeout=15000)
        shot(judge, "c13-11-judge-sees-the-media-gap")
        gap = judge.evaluate(f"() => window.hearingApp.room.mod.gaps.get({party_id!r})")
        assert 0 < gap["seconds"] < 15, gap
        lines = [json.loads(line) for line in
                 (server.data_dir / "hearings" / created["hearing_id"] / "events.jsonl")
                 .read_text().splitlines()]
        gaps = [(e["type"], e["subject"], e.get("code")) for e in lines
                if e["type"] in ("media_lost", "media_restored")]
        assert gaps == [("media_lost", party_id, "media.connection_lost"),
                        ("media_restored", party_id, "media.connection_lost")], gaps
        expect(party.locator("#notice-media-problem")).to_have_count(0)
        expect(party.locator("#screen-ended")).to_be_hidden()
        assert party.js_errors == [], party.js_errors
    except Exception:
        shot(judge, "c13-zz-failure-heal-judge")
        shot(party, "c13-zz-failure-heal-party")
        print(server.log())
        raise
    finally:
        judge.context.close()
        party.context.close()


def test_a_witness_is_held_sent_back_excused_and_recalled(server: Server,
                                                          browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-14-3", title="The witness",
                                    judge="Judge Ada", witness="Wes Witness")
    who = people(created)
    judge_id, wes = who["judge"]["id"], who["witness"]["id"]
    judge = page_with(browser, ["camera", "microphone"])
    witness = page_with(browser, ["camera", "microphone"])

    def witness_enters() -> None:
        witness.goto("about:blank")
        witness.goto(who["witness"]["link"])
        witness.click("#dc-start")
        expect(witness.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                   timeout=15000)
        witness.click("#enter-btn")
        expect(witness.locator("#screen-lobby")).to_be_visible(timeout=15000)

    try:
        judge.goto(who["judge"]["link"])
        judge.click("#dc-start")
        expect(judge.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                 timeout=15000)
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)
        # -- held in the lobby while the hearing is locked; the judge is told and admits
        # (a state update may redraw the toggle before the ack: the badge is the truth)
        judge.click("#lock-toggle")
        expect(judge.locator("#lock-badge")).to_be_visible()
        witness_enters()
        expect(witness.locator("#lobby-phase")).to_contain_text("The court knows you are waiting")
        expect(judge.locator("#lobby-alert")).to_have_text("Wes Witness is waiting in the lobby.")
        judge.click(f"#admit-{wes}")
        expect(witness.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(judge, wes)

        # -- sent back to the waiting room between questions, then called in again
        judge.click(f"#to-lobby-{wes}")
        expect(witness.locator("#screen-lobby")).to_be_visible(timeout=15000)
        expect(witness.locator("#lobby-phase")).to_contain_text("sent you back to the lobby")
        expect(judge.locator(f"#admit-{wes}")).to_be_visible()
        expect(judge.locator(f'.tile[data-participant-id="{wes}"]')).to_have_count(0)
        shot(witness, "c14-20-witness-sent-back")
        shot(judge, "c14-21-judge-witness-in-lobby")
        judge.click(f"#admit-{wes}")
        expect(witness.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(witness, judge_id)
        wait_remote_video(judge, wes)

        # -- excused (removed), then recalled: back through the lobby with the same link
        judge.click(f"#remove-{wes}")
        judge.fill(f"#reason-{wes}", "Excused")
        judge.click(f"#confirm-remove-{wes}")
        expect(witness.locator("#ended-card")).to_have_attribute("data-kind", "removed")
        expect(judge.locator(f'#gone-list [data-participant-id="{wes}"]')).to_contain_text(
            "removed")
        shot(judge, "c14-22-judge-witness-excused")
        judge.click(f"#recall-{wes}")
        expect(judge.locator(f'#lobby-list [data-participant-id="{wes}"]')).to_contain_text(
            "not connected")
        witness_enters()
        judge.click(f"#admit-{wes}")
        expect(witness.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(witness, judge_id)
        wait_remote_video(judge, wes)
        shot(judge, "c14-23-judge-witness-recalled")
        assert judge.js_errors == [] and witness.js_errors == [], (judge.js_errors,
                                                                     witness.js_errors)
    except Exception:
        shot(judge, "c14-zz-failure-witness-judge")
        shot(witness, "c14-zz-failure-witness")
        print(server.log())
        raise
    finally:
        judge.context.close()
        witness.context.close()


def test_a_phone_works_in_both_orientations_and_sees_enter_without_scrolling(
        server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-14-4", title="On a phone",
                                    judge="Judge Ada", party="Pat Phone")
    who = people(created)
    judge_id, pat = who["judge"]["id"], who["party"]["id"]
    judge = page_with(browser, ["camera", "microphone"])
    phone = page_with(browser, ["camera", "microphone"], width=390, height=844)
    try:
        judge.goto(who["judge"]["link"])
        judge.click("#dc-start")
        expect(judge.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                 timeout=15000)
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)

        # -- portrait pre-join: the device check comes first, Enter is on the screen
        phone.goto(who["party"]["link"])
        expect(phone.locator("#enter-btn")).to_be_in_viewport()
        phone.click("#dc-start")
        expect(phone.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                 timeout=15000)
        expect(phone.locator("#enter-btn")).to_be_in_viewport()
        expect(phone.locator("#dc-start")).to_be_in_viewport()
        phone.screenshot(path=str(shot_path("c14-30-phone-prejoin-portrait")))
        phone.click("#enter-btn")
        expect(phone.locator("#screen-lobby")).to_be_visible(timeout=15000)
        judge.click(f"#admit-{pat}")
        expect(phone.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(phone, judge_id)
        remote = phone.locator(f'video.remote-video[data-participant-id="{judge_id}"]')
        expect(remote).to_be_in_viewport()
        expect(phone.locator("#leave-btn")).to_be_in_viewport()
        phone.screenshot(path=str(shot_path("c14-31-phone-room-portrait")))

        # -- landscape: the video is the screen, not 55 px behind the bars
        phone.set_viewport_size({"width": 844, "height": 390})
        expect(remote).to_be_in_viewport()
        box = remote.bounding_box()
        assert box is not None and box["height"] >= 180, box
        expect(phone.locator("#leave-btn")).to_be_in_viewport()
        expect(phone.locator("#mic-btn")).to_be_in_viewport()
        wait_remote_video(phone, judge_id)
        phone.screenshot(path=str(shot_path("c14-32-phone-room-landscape")))
        # -- and back
        phone.set_viewport_size({"width": 390, "height": 844})
        expect(remote).to_be_in_viewport()
        assert phone.js_errors == [], phone.js_errors
    except Exception:
        shot(phone, "c14-zz-failure-phone")
        print(server.log())
        raise
    finally:
        judge.context.close()
        phone.context.close()


AXE = ROOT / "tests" / "e2e" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"


def serious_axe_findings(page: Any) -> list[str]:
    """Run axe-core in the page; the serious and critical violations, as text."""
    if not AXE.exists():  # never skip: the setup installs it
        pytest.fail(f"no axe-core at {AXE}: run HEARING_SETUP_TESTS=1 ./scripts/setup.sh")
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
      const r = await window.axe.run(document, {resultTypes: ["violations"]});
      return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`); }""")
    return list(found)


def test_axe_finds_no_serious_violation_in_the_join_pages(server: Server,
                                                           browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-14-5", title="Accessible",
                                    judge="Judge Ada", party="Sam Party")
    who = people(created)
    judge = page_with(browser, ["camera", "microphone"], bypass_csp=True)
    party = page_with(browser, ["camera", "microphone"], bypass_csp=True)
    findings: dict[str, list[str]] = {}
    try:
        judge.goto(who["judge"]["link"])
        judge.click("#dc-start")
        expect(judge.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                 timeout=15000)
        findings["prejoin"] = serious_axe_findings(judge)
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)
        party.goto(who["party"]["link"])
        party.click("#dc-start")
        expect(party.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                 timeout=15000)
        party.click("#enter-btn")
        expect(party.locator("#screen-lobby")).to_be_visible(timeout=15000)
        findings["lobby"] = serious_axe_findings(party)
        expect(judge.locator(f"#admit-{who['party']['id']}")).to_be_visible()
        findings["judge room, lobby queue"] = serious_axe_findings(judge)
        judge.click(f"#admit-{who['party']['id']}")
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(judge, who["party"]["id"])
        findings["judge room"] = serious_axe_findings(judge)
        findings["party room"] = serious_axe_findings(party)
        assert all(not v for v in findings.values()), findings
    finally:
        judge.context.close()
        party.context.close()


def test_focus_stays_on_the_check_button_and_the_leave_dialog_offers_stay_first(
        server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    created = server.create_hearing(case_number="C-14-6", title="Keyboard",
                                    judge="Judge Ada")
    judge = page_with(browser, ["camera", "microphone"])
    try:
        judge.goto(created["participants"][0]["link"])
        judge.focus("#dc-start")
        judge.keyboard.press("Enter")
        expect(judge.locator("#device-check")).to_have_attribute("data-state", "ok",
                                                                 timeout=15000)
        expect(judge.locator("#dc-start")).to_be_focused()
        judge.click("#enter-btn")
        expect(judge.locator("#screen-room")).to_be_visible(timeout=15000)
        judge.click("#leave-btn")
        expect(judge.locator("#leave-stay")).to_be_focused()
        judge.keyboard.press("Enter")
        expect(judge.locator("#screen-room")).to_be_visible()
    finally:
        judge.context.close()


def test_the_console_names_the_clerk_after_a_reload(server: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    from .conftest import STAFF_PASSWORD
    from .helpers import sign_in_clerk

    clerk = page_with(browser, [], width=1360, height=900)
    try:
        sign_in_clerk(clerk, server.url, STAFF_PASSWORD)
        expect(clerk.locator("#who")).to_contain_text("Clerk One")
        clerk.reload()
        expect(clerk.locator("#screen-workspace")).to_be_visible()
        expect(clerk.locator("#who")).to_contain_text("Clerk One")
        expect(clerk.locator("#who")).not_to_contain_text("clerk1")
    finally:
        clerk.context.close()
