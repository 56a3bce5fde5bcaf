"""Page helpers shared by the browser tests."""

from __future__ import annotations

from typing import Any

FRAMES_ADVANCE = """async ([pid, source]) => {
  const v = document.querySelector(
    `video.remote-video[data-participant-id="${pid}"][data-source="${source}"]`);
  if (!v || v.videoWidth === 0) return null;
  const a = v.getVideoPlaybackQuality().totalVideoFrames;
  await new Promise((r) => setTimeout(r, 1000));
  const b = v.getVideoPlaybackQuality().totalVideoFrames;
  return {width: v.videoWidth, height: v.videoHeight, before: a, after: b};
}"""


def people(created: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["role"]: p for p in created["participants"]}


def pass_device_check(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#screen-prejoin")).to_be_visible()
    expect(page.locator("#enter-btn")).to_be_disabled()
    page.click("#dc-start")
    expect(page.locator("#device-check")).to_have_attribute("data-state", "ok", timeout=15000)
    # the fake microphone beeps: the level meter must move at some point
    page.wait_for_function(
        "() => Number(document.querySelector('#dc-meter').getAttribute('aria-valuenow')) > 5",
        timeout=15000)
    page.wait_for_function("() => document.querySelector('#dc-video').videoWidth > 0",
                           timeout=15000)
    expect(page.locator("#dc-camera option")).not_to_have_count(0)
    expect(page.locator("#enter-btn")).to_be_enabled()


def wait_remote_video(page: Any, pid: str, source: str = "camera") -> dict[str, Any]:
    page.wait_for_function(
        """([pid, source]) => { const v = document.querySelector(
             `video.remote-video[data-participant-id="${pid}"][data-source="${source}"]`);
           return v && v.videoWidth > 0; }""", arg=[pid, source], timeout=30000)
    stats: dict[str, Any] = page.evaluate(FRAMES_ADVANCE, [pid, source])
    assert stats is not None, "the remote video vanished"
    assert stats["width"] > 0 and stats["height"] > 0
    assert stats["after"] > stats["before"], f"frames did not advance: {stats}"
    return stats


def enter(page: Any, link: str, *, room: bool) -> None:
    """Open a join link, pass the device check and enter: the room, or the lobby."""
    from playwright.sync_api import expect

    page.goto(link)
    pass_device_check(page)
    page.click("#enter-btn")
    target = "#screen-room" if room else "#screen-lobby"
    expect(page.locator(target)).to_be_visible(timeout=15000)


INBOUND_PACKETS = """async (ms) => {
  const pc = window.hearingApp.media.pc;
  const count = async () => {
    let n = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp") n += s.packetsReceived || 0;
    });
    return n;
  };
  const a = await count();
  await new Promise((r) => setTimeout(r, ms));
  return (await count()) - a;
}"""


def packets_received(page: Any, ms: int = 2000) -> int:
    """RTP packets the page's peer connection received (every mid) during ``ms``."""
    return int(page.evaluate(INBOUND_PACKETS, ms))


def sign_in_clerk(page: Any, url: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/console")
    expect(page.locator("#screen-signin")).to_be_visible()
    page.fill("#signin-user", "clerk1")
    page.fill("#signin-pass", password)
    page.click("#signin-submit")
    expect(page.locator("#screen-workspace")).to_be_visible()


MEDIA_PLAYING = """async ([sel, ms]) => {
  const v = document.querySelector(sel);
  if (!v || v.readyState < 2) return null;
  const a = v.currentTime;
  await new Promise((r) => setTimeout(r, ms));
  return {before: a, after: v.currentTime, readyState: v.readyState,
          width: v.videoWidth || 0, height: v.videoHeight || 0,
          duration: v.duration, paused: v.paused, ended: v.ended, error: v.error && v.error.code};
}"""
