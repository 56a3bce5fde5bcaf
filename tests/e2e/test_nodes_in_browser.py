"""Several nodes behind one Redis: a joiner who reaches the wrong node is sent on
(node.redirect) and a draining node moves its participants (node.moving).

Two real server processes sharing a Redis and a data folder, Debian's Chromium.
The pages that follow a redirect to another origin are opened with CSP bypassed: the
pages' Content-Security-Policy (``default-src 'self'``) does not yet list the other
nodes in ``connect-src`` (a server change, see the web client's README).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Server, free_port, new_page, shot, start_server, stop_server
from .helpers import enter, people, wait_remote_video

pytestmark = pytest.mark.timeout(300)

REDIS = shutil.which("redis-server")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    if REDIS is None:  # never skip: the test command installs it
        pytest.fail("no redis-server: run ./scripts/test.sh, which installs it")
    base = tmp_path_factory.mktemp("nodes")
    port = free_port()
    redis = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started: list[Server] = []
    try:
        env = {"HEARING_REDIS_URL": f"redis://127.0.0.1:{port}/0",
               "HEARING_DRAIN_TIMEOUT": "1"}
        data = base / "data"  # one folder: the same signing secret on both nodes
        for name in ("a", "b"):
            started.append(start_server(data, base / f"node-{name}.log",
                                        env={**env, "HEARING_NODE_ID": f"node-{name}"}))
        yield started[0], started[1]
    finally:
        for srv in started:
            stop_server(srv)
        redis.terminate()
        redis.wait(timeout=10)


def on_node(link: str, node: Server) -> str:
    """The same join link, opened on another node (as a load balancer might send it)."""
    return node.url + link[link.index("/join"):]


def test_redirect_to_the_hosting_node_then_drain_moves_everyone(
        nodes: tuple[Server, Server], browser: Any) -> None:
    from playwright.sync_api import expect

    node_a, node_b = nodes
    created = node_a.create_hearing(case_number="N-1", title="Node v. Node",
                                    judge="Judge Ada", party="Sam Party")
    who = people(created)
    judge_id, party_id = who["judge"]["id"], who["party"]["id"]
    judge = new_page(browser)
    party = new_page(browser)
    try:
        # -- the judge opens the hearing on node A: A hosts it
        enter(judge, on_node(who["judge"]["link"], node_a), room=True)

        # -- the party's link reaches node B, which sends the socket on to node A
        enter(party, on_node(who["party"]["link"], node_b), room=False)
        assert party.evaluate("() => window.hearingApp.nodeUrl") == node_a.url
        judge.click(f"#admit-{party_id}")
        expect(party.locator("#screen-room")).to_be_visible(timeout=15000)
        wait_remote_video(party, judge_id)
        wait_remote_video(judge, party_id)
        shot(party, "70-party-redirected-to-hosting-node")

        # -- node A drains: "moving" banner, then the party comes back through node B,
        #    which now hosts the hearing; media is set up again
        party.evaluate("() => { window.__oldPc = window.hearingApp.media.pc; }")
        node_a.process.send_signal(signal.SIGTERM)
        banner = party.locator("#banner")
        expect(banner).to_have_attribute("data-kind", "banner.moving", timeout=15000)
        expect(banner).to_contain_text("moving you to another server")
        shot(party, "71-party-node-moving")
        expect(banner).to_be_hidden(timeout=30000)
        expect(party.locator("#screen-room")).to_be_visible()
        assert party.evaluate("() => window.hearingApp.nodeUrl") == ""
        party.wait_for_function(
            "() => window.hearingApp.media.pc && window.hearingApp.media.pc !== window.__oldPc"
            " && window.hearingApp.media.pc.connectionState === 'connected'", timeout=30000)
        assert party.js_errors == [], party.js_errors
    except Exception:
        shot(judge, "zz-failure-nodes-judge")
        shot(party, "zz-failure-nodes-party")
        print(node_a.log())
        print(node_b.log())
        raise
    finally:
        judge.context.close()
        party.context.close()
