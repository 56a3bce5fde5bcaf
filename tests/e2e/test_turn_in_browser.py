"""Browsers that may only use TURN (``iceTransportPolicy: "relay"``, the page opened with
``?ice=relay``) hold a hearing through a real coturn on loopback, with the
credentials the node minted for each of them on admission, over TURN/UDP and TURN/TCP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.turn_server import Coturn, coturn

from .conftest import Server, new_page, shot, start_server, stop_server
from .helpers import enter, people, wait_remote_video

pytestmark = pytest.mark.timeout(180)

SELECTED_PAIR = """async () => {
  const pc = window.hearingApp.media && window.hearingApp.media.pc;
  if (!pc || pc.connectionState !== "connected") return null;
  const stats = await pc.getStats();
  let pairId = null;
  stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
  if (!pairId) stats.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pairId = s.id; });
  const pair = pairId && stats.get(pairId);
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId);
  return {type: local.candidateType, relayProtocol: local.relayProtocol || null,
          address: local.address, port: local.port};
}"""


def selected_pair(page: Any) -> dict[str, Any]:
    page.wait_for_function(SELECTED_PAIR, timeout=20000)
    pair: dict[str, Any] = page.evaluate(SELECTED_PAIR)
    return pair


def relay_only(link: str) -> str:
    base, token = link.split("#", 1)
    return f"{base}?ice=relay#{token}"


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    with coturn(tmp_path_factory.mktemp("turn")) as server:
        yield server


def turn_node(base: Path, turn: Coturn, transport: str) -> Server:
    return start_server(base / "data", base / "server.log", env={
        "HEARING_TURN_SECRET": turn.secret,
        "HEARING_TURN_URLS": ",".join(turn.urls(transport)),
        "HEARING_TURN_TTL": "900"})


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_relay_only_browsers_see_and_hear_each_other_through_turn(
        tmp_path: Path, turn: Coturn, browser: Any, transport: str) -> None:
    from playwright.sync_api import expect

    node = turn_node(tmp_path, turn, transport)
    judge = party = None
    try:
        created = node.create_hearing(case_number="C-T", title="Turn v. Relay",
                                      judge="Judge Ada", party="Sam Party")
        who = people(created)
        judge_id, party_id = who["judge"]["id"], who["party"]["id"]
        judge, party = new_page(browser), new_page(browser)
        enter(judge, relay_only(who["judge"]["link"]), room=True)
        enter(party, relay_only(who["party"]["link"]), room=False)
        # in the lobby: no TURN credential yet
        assert party.evaluate("() => window.hearingApp.iceServers") == []
        judge.click(f"#admit-{party_id}")
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(party, judge_id)
        wait_remote_video(judge, party_id)
        for page in (judge, party):
            page.wait_for_function(
                "() => document.querySelectorAll('#audio-sink audio').length > 0")
            pair = selected_pair(page)
            assert pair["type"] == "relay" and pair["relayProtocol"] == transport, pair
        servers = party.evaluate("() => window.hearingApp.iceServers")
        (entry,) = servers
        assert entry["username"].endswith(f":{party_id}") and entry["credential"]
        shot(party, f"turn-{transport}-party")
        assert not judge.js_errors and not party.js_errors, (judge.js_errors, party.js_errors)
    except Exception:
        print(node.log(), turn.text()[-3000:])
        raise
    finally:
        for page in (judge, party):
            if page is not None:
                page.context.close()
        stop_server(node)
