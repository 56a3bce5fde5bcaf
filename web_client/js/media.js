// The media connection with the relay. THE SERVER ALWAYS OFFERS: we answer.
//
//  media.offer  {sdp, tracks: {mid: {participant_id, source, kind} | null}, publish: {mid: source}}
//  media.answer {sdp}
//  media.tracks {tracks}   who is behind each receiving mid now (no renegotiation)
//
// One RTCPeerConnection per server-side peer (a new one after each media.ready).

export async function emitAck(socket, event, data, ms = 10000) {
  try {
    const ack = await socket.timeout(ms).emitWithAck(event, data === undefined ? {} : data);
    if (ack && typeof ack === "object") return ack;
    return { ok: false, error: { code: "ack.invalid", message: "unexpected answer from the server" } };
  } catch {
    return { ok: false, error: { code: "ack.timeout", message: "the server did not answer in time" } };
  }
}

function iceGathered(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/**
 * "relay" when the page was opened with ?ice=relay: media goes through the TURN
 * servers only (a participant behind a firewall that lets nothing else through; tests).
 */
export function iceTransportPolicy(search = globalThis.location ? globalThis.location.search : "") {
  return new URLSearchParams(search).get("ice") === "relay" ? "relay" : "all";
}

const STALL_POLL_MS = 1000;
const STALL_AFTER_MS = 3000;

export class ProtocolError extends Error {
  constructor(error) {
    super((error && error.message) || "protocol error");
    this.code = (error && error.code) || "error.unknown";
  }
}

export class MediaLink {
  /**
   * @param {object} opts
   * @param {import("../vendor/socket.io.esm.min.js").Socket} opts.socket
   * @param {RTCIceServer[]} opts.iceServers
   * @param {(source: string) => MediaStreamTrack|null} opts.localTrack  what to send per source
   * @param {(tracks: object) => void} opts.onTracks  the receiving mids changed
   * @param {(state: string) => void} opts.onConnectionState
   * @param {(err: Error) => void} opts.onProblem
   */
  constructor({ socket, iceServers, localTrack, onTracks, onConnectionState, onProblem }) {
    this.socket = socket;
    this.iceServers = iceServers || [];
    this.localTrack = localTrack;
    this.onTracks = onTracks || (() => {});
    this.onConnectionState = onConnectionState || (() => {});
    this.onProblem = onProblem || (() => {});
    this.pc = null;
    this.publishMids = new Map(); // mid -> source, for every mid we ever sent on
    this.tracks = {};
    this.queue = Promise.resolve();
    this.generation = 0;
    this.answered = false;
    // per receiving mid: who is behind it and when packets last arrived (see stalled())
    this.flow = new Map();
    this.monitor = null;
  }

  /**
   * Ask the server for a (new) media connection; it answers with media.offer.
   * @param {boolean} [retry] the previous connection was lost (the court sees the gap)
   */
  async start(retry = false) {
    this.close();
    return emitAck(this.socket, "media.ready", retry ? { retry: true } : {});
  }

  close() {
    this.generation += 1;
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = null;
    this.flow.clear();
    if (this.pc) {
      this.pc.ontrack = null;
      this.pc.onicecandidate = null;
      this.pc.onconnectionstatechange = null;
      try { this.pc.close(); } catch { /* already closed */ }
    }
    this.pc = null;
    this.answered = false;
    this.publishMids.clear();
    this.tracks = {};
  }

  get connectionState() {
    return this.pc ? this.pc.connectionState : "closed";
  }

  newPeerConnection() {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers, bundlePolicy: "max-bundle", iceTransportPolicy: iceTransportPolicy(),
    });
    pc.ontrack = () => this.onTracks(this.tracks);
    pc.onconnectionstatechange = () => this.onConnectionState(pc.connectionState);
    this.monitor = setInterval(() => this.watchFlow(pc), STALL_POLL_MS);
    pc.onicecandidate = (ev) => {
      // candidates found after the answer left (slow gathering) are trickled
      if (ev.candidate && this.answered && pc === this.pc) {
        emitAck(this.socket, "media.candidate", { candidate: ev.candidate.toJSON() });
      }
    };
    return pc;
  }

  /** Queue an offer: offers are answered strictly one after the other. */
  offer(payload) {
    const gen = this.generation;
    this.queue = this.queue
      .then(() => (gen === this.generation ? this.answer(payload, gen) : null))
      .catch((err) => this.onProblem(err));
  }

  async answer({ sdp, tracks, publish }, gen) {
    if (!this.pc) this.pc = this.newPeerConnection();
    const pc = this.pc;
    await pc.setRemoteDescription({ type: "offer", sdp });
    for (const [mid, source] of Object.entries(publish || {})) this.publishMids.set(mid, source);
    for (const transceiver of pc.getTransceivers()) {
      const source = transceiver.mid !== null ? this.publishMids.get(transceiver.mid) : undefined;
      if (!source) continue;
      // a publish mid stays sendonly for good: a stopped screen share sends nothing
      transceiver.direction = "sendonly";
      const track = this.localTrack(source) || null;
      if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await iceGathered(pc, 2000);
    if (gen !== this.generation || pc !== this.pc) return;
    const localSdp = pc.localDescription.sdp;
    this.answered = true;
    const ack = await emitAck(this.socket, "media.answer", { sdp: localSdp });
    if (!ack.ok) throw new ProtocolError(ack.error);
    this.tracks = tracks || {};
    this.onTracks(this.tracks);
  }

  updateTracks(tracks) {
    this.tracks = tracks || {};
    this.onTracks(this.tracks);
  }

  /**
   * Whether a receiving mid has carried no media for a while. A publisher that stopped
   * (screen share ended, connection lost) must not leave a frozen picture on screen, even
   * when no media.tracks update says so.
   */
  stalled(mid) {
    const f = this.flow.get(mid);
    return Boolean(f && f.stalled);
  }

  async watchFlow(pc) {
    if (pc !== this.pc || pc.connectionState === "closed") return;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    if (pc !== this.pc) return;
    const packets = new Map();
    report.forEach((stat) => {
      if (stat.type === "inbound-rtp" && stat.mid !== undefined) packets.set(String(stat.mid), stat.packetsReceived || 0);
    });
    const now = Date.now();
    let flipped = false;
    for (const [mid, who] of Object.entries(this.tracks)) {
      const key = who ? `${who.participant_id}/${who.source}` : "";
      const count = packets.get(mid) || 0;
      let f = this.flow.get(mid);
      if (!f || f.key !== key) {
        f = { key, count, since: now, stalled: false };
        this.flow.set(mid, f);
      } else if (count > f.count) {
        f.count = count;
        f.since = now;
      }
      const stalled = Boolean(who) && now - f.since > STALL_AFTER_MS;
      if (stalled !== f.stalled) {
        f.stalled = stalled;
        flipped = true;
      }
    }
    if (flipped) this.onTracks(this.tracks);
  }

  /** Send a different local track (device switch, screen share) without renegotiating. */
  async setSource(source, track) {
    if (!this.pc) return false;
    let found = false;
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver.mid !== null && this.publishMids.get(transceiver.mid) === source) {
        found = true;
        if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track || null);
      }
    }
    return found;
  }

  /** The receiving track behind a mid (stable for the life of the connection). */
  trackOf(mid) {
    if (!this.pc) return null;
    const transceiver = this.pc.getTransceivers().find((tr) => tr.mid === mid);
    return transceiver ? transceiver.receiver.track : null;
  }
}
