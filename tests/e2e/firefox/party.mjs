// A participant in Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi
// (tests/e2e/test_firefox_in_browser.py). Usage: node party.mjs <join link> <remote pid>
// Prints one JSON object a line: {"stage": "lobby"}, then {"stage": "room", ...} once
// the remote participant's video plays and audio arrives, or {"stage": "error", ...}.
import puppeteer from "puppeteer-core";

const [link, remotePid] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const browser = await puppeteer.launch({
  browser: "firefox",
  protocol: "webDriverBiDi",
  executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
  headless: true,
  extraPrefsFirefox: {
    "media.navigator.streams.fake": true,
    "media.navigator.permission.disabled": true,
    // no mDNS names for host candidates: the node does not resolve .local names
    "media.peerconnection.ice.obfuscate_host_addresses": false,
    // Firefox leaves out loopback addresses (its own and a TURN server's) unless told
    "media.peerconnection.ice.loopback": true,
  },
});
const deadline = (ms) => ({ timeout: ms, polling: 200 });
let page = null;
const errors = [];
const logs = [];
try {
  page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warn") logs.push(m.text()); });
  await page.goto(link);
  await page.waitForSelector("#screen-prejoin", { visible: true });
  await page.click("#dc-start");
  await page.waitForFunction(
    () => document.querySelector("#device-check").dataset.state === "ok", deadline(20000));
  await page.waitForFunction(() => !document.querySelector("#enter-btn").disabled, deadline(20000));
  await page.click("#enter-btn");
  await page.waitForSelector("#screen-lobby", { visible: true, timeout: 20000 });
  say({ stage: "lobby" });
  await page.waitForSelector("#screen-room", { visible: true, timeout: 60000 });
  await page.waitForFunction((pid) => {
    const v = document.querySelector(
      `video.remote-video[data-participant-id="${pid}"][data-source="camera"]`);
    return v && v.videoWidth > 0;
  }, deadline(40000), remotePid);
  const media = await page.evaluate(async (pid) => {
    const v = document.querySelector(
      `video.remote-video[data-participant-id="${pid}"][data-source="camera"]`);
    const frames = () => v.getVideoPlaybackQuality().totalVideoFrames;
    const pc = window.hearingApp.media.pc;
    const inbound = async () => {
      const out = { audio: 0, video: 0, decoded: 0 };
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp") out[s.kind] += s.packetsReceived || 0;
        if (s.type === "inbound-rtp" && s.kind === "video") out.decoded += s.framesDecoded || 0;
      });
      return out;
    };
    const a = frames();
    const t0 = v.currentTime;
    const before = await inbound();
    await new Promise((r) => setTimeout(r, 2000));
    const after = await inbound();
    let pair = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    const stats = await pc.getStats();
    const local = pair && stats.get(pair.localCandidateId);
    return {
      width: v.videoWidth, height: v.videoHeight, framesBefore: a, framesAfter: frames(),
      framesDecoded: after.decoded - before.decoded, playedSeconds: v.currentTime - t0,
      audioPackets: after.audio - before.audio, videoPackets: after.video - before.video,
      audioSinks: document.querySelectorAll("#audio-sink audio").length,
      candidate: local ? { type: local.candidateType, address: local.address } : null,
    };
  }, remotePid);
  say({ stage: "room", ...media, errors, userAgent: await browser.userAgent() });
  // stay in the hearing until the test is done with the judge's side
  await new Promise((resolve) => process.stdin.once("data", resolve));
} catch (e) {
  let diagnosis = null;
  try {
    diagnosis = page && await page.evaluate(async () => {
      const pc = window.hearingApp.media && window.hearingApp.media.pc;
      if (!pc) return { pc: null, media: !!window.hearingApp.media, inRoom: window.hearingApp.inRoom };
      const candidates = [];
      (await pc.getStats()).forEach((s) => {
        if (s.type.endsWith("candidate")) candidates.push([s.type, s.candidateType, s.address, s.port, s.protocol]);
        if (s.type === "candidate-pair") candidates.push(["pair", s.state, s.nominated]);
      });
      return { ice: pc.iceConnectionState, connection: pc.connectionState,
               gathering: pc.iceGatheringState, candidates,
               servers: window.hearingApp.iceServers };
    });
  } catch (_) { /* the page is gone */ }
  say({ stage: "error", message: String(e && e.stack || e) + "\n" + JSON.stringify({ diagnosis, errors, logs: logs.slice(-20) }) });
} finally {
  await browser.close();
}
