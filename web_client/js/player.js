// The record player (issue 17): one timeline for the whole hearing, one continuous lane
// per person (camera, microphone, screen, interpretation) played from its segments as a
// playlist, markers to jump to (session start, admissions, recording pauses with their
// reasons, caucuses, exhibits, interruptions, minutes), playback speed, the speaking
// person highlighted, one person's continuous track for download.
//
// REST (staff cookie; every access is audited by the server):
//   GET /api/v1/recordings/{id}/player -> {start, end, people: [{participant_id, name, role,
//        tracks: [{track, kind, source, language, segments: [{path, start, end}]}]}],
//        markers: [{ts, kind, reason?, text?, ...}], unrecorded: [{kind, from, to, reason}], minutes}
//   GET /api/v1/recordings/{id}/files/{path}        one segment
//   GET /api/v1/recordings/{id}/lanes/{track}?download=1   one continuous file

import { $, h, clear, api } from "./dom.js";
import { t, roleName, errorText, fmtDateTime } from "./i18n.js";

const enc = encodeURIComponent;
const RESYNC = 0.4; // seconds of drift before an element is moved back onto the clock
const SPEAKING = 0.02; // RMS level above which a person counts as speaking

function fmtClock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = String(Math.floor(s / 3600)).padStart(2, "0");
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return `${hh}:${mm}:${ss}`;
}

/** Position by the CSSOM (the page's CSP refuses style attributes). */
function place(el, left, width) {
  el.style.left = `${left}%`;
  if (width !== undefined) el.style.width = `${width}%`;
  return el;
}

function parseClock(text) {
  const parts = String(text).trim().split(":").map(Number);
  if (!parts.length || parts.some((n) => !Number.isFinite(n) || n < 0)) return null;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

export class RecordPlayer {
  constructor(hooks) {
    this.hooks = hooks;
    this.data = null;
    this.t = 0;
    this.playing = false;
    this.rate = 1;
    this.lanes = []; // {person, track, el, analyser, buf, laneEl}
    this.frame = null;
    this.last = 0;
    this.audio = null;
    this.el = {
      box: $("#rp"), play: $("#rp-play"), clock: $("#rp-clock"), wall: $("#rp-wall"),
      speed: $("#rp-speed"), bar: $("#rp-bar"), head: $("#rp-head"), marks: $("#rp-marks"),
      list: $("#rp-markers"), people: $("#rp-people"), jump: $("#rp-jump"),
      jumpForm: $("#rp-jump-form"), status: $("#rp-status"),
    };
    this.el.play.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    this.el.speed.addEventListener("change", () => this.setRate(Number(this.el.speed.value) || 1));
    this.el.bar.addEventListener("click", (ev) => {
      const r = this.el.bar.getBoundingClientRect();
      this.seek(((ev.clientX - r.left) / r.width) * this.duration);
    });
    this.el.jumpForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const s = parseClock(this.el.jump.value);
      if (s !== null) this.seek(s);
    });
  }

  get duration() { return this.data ? Math.max(0.001, this.data.end - this.data.start) : 0.001; }

  async open(hearingId) {
    this.close();
    this.hearingId = hearingId;
    try {
      this.data = await api("GET", `/api/v1/recordings/${enc(hearingId)}/player`);
    } catch (err) {
      if (this.hooks.failed(err)) return;
      this.el.status.hidden = false;
      this.el.status.textContent = errorText(err);
      return;
    }
    this.el.status.hidden = true;
    this.build();
    this.el.box.hidden = false;
    this.seek(0);
  }

  close() {
    this.pause();
    for (const lane of this.lanes) { lane.el.removeAttribute("src"); lane.el.load(); }
    this.lanes = [];
    if (this.audio) { this.audio.close().catch(() => {}); this.audio = null; }
    this.data = null;
    this.el.box.hidden = true;
  }

  at(ts) { return ((ts - this.data.start) / this.duration) * 100; }

  build() {
    const d = this.data;
    clear(this.el.marks);
    clear(this.el.list);
    clear(this.el.people);
    for (const p of d.unrecorded) {
      this.el.marks.append(place(h("span", {
        class: `rp-gap rp-gap-${p.kind}`, title: `${t(`player.gap.${p.kind}`)} ${p.reason || ""}`,
      }), this.at(p.from), Math.max(0.3, this.at(p.to) - this.at(p.from))));
    }
    d.markers.forEach((m, i) => {
      const label = this.markerLabel(m);
      const go = () => this.seek(m.ts - d.start);
      this.el.marks.append(place(h("button", {
        type: "button", class: `rp-mark rp-mark-${m.kind}`, title: label, "aria-label": label,
        dataset: { kind: m.kind }, on: { click: (ev) => { ev.stopPropagation(); go(); } },
      }), this.at(m.ts)));
      this.el.list.append(h("li", {},
        h("button", { type: "button", class: "btn btn-small btn-quiet rp-marker", id: `rp-marker-${i}`,
          dataset: { kind: m.kind, offset: String(m.ts - d.start) }, on: { click: go } },
        h("span", { class: "rp-marker-time", text: fmtClock(m.ts - d.start) }), " ", label)));
    });
    for (const person of d.people) {
      const row = h("div", { class: "rp-person", dataset: { participantId: person.participant_id } });
      row.append(h("div", { class: "rp-person-name" },
        h("strong", { text: person.name }), " ", h("span", { class: "badge badge-neutral", text: roleName(person.role) })));
      const media = h("div", { class: "rp-person-media" });
      row.append(media);
      for (const track of person.tracks) {
        const el = track.kind === "video"
          ? h("video", { class: "rp-video", playsinline: true, muted: true, preload: "auto" })
          : h("audio", { class: "rp-audio", preload: "auto" });
        el.dataset.track = track.track;
        if (track.kind === "video") el.muted = true;
        media.append(el);
        const strip = h("div", { class: "rp-strip", title: t(`player.source.${track.source}`) });
        for (const s of track.segments) {
          strip.append(place(h("span", { class: "rp-seg" }), this.at(s.start),
            Math.max(0.2, this.at(s.end) - this.at(s.start))));
        }
        const label = track.language ? `${t(`player.source.${track.source}`)} (${track.language})` : t(`player.source.${track.source}`);
        row.append(h("div", { class: "rp-track", dataset: { kind: track.kind, source: track.source } },
          h("span", { class: "rp-track-label", text: label }), strip,
          h("a", { class: "btn btn-small btn-quiet", href: `/api/v1/recordings/${enc(this.hearingId)}/lanes/${enc(track.track)}?download=1`,
            download: "", text: t("player.download") })));
        this.lanes.push({ person, track, el, row, analyser: null, buf: null, pending: null });
        el.addEventListener("loadedmetadata", () => {
          const lane = this.lanes.find((l) => l.el === el);
          if (lane && lane.pending !== null) { el.currentTime = lane.pending; lane.pending = null; }
          if (this.playing) el.play().catch(() => {});
        });
      }
      this.el.people.append(row);
    }
  }

  markerLabel(m) {
    const base = t(`player.mark.${m.kind}`);
    if (m.kind === "media_lost" || m.kind === "media_restored") {
      // whose connection, and (once back) how long it was gone
      const person = (this.data.people || []).find((p) => p.participant_id === m.subject);
      const who = person ? person.name : m.subject || "";
      return m.gap_seconds !== undefined ? `${base}: ${who} (${t("player.gap_seconds", { seconds: m.gap_seconds })})`
        : `${base}: ${who}`;
    }
    const extra = m.reason || m.text || m.title || m.cause || "";
    return extra ? `${base}: ${extra}` : base;
  }

  ensureAudio() {
    if (this.audio) return;
    try {
      this.audio = new AudioContext();
      for (const lane of this.lanes) {
        if (lane.track.kind !== "audio") continue;
        const src = this.audio.createMediaElementSource(lane.el);
        const analyser = this.audio.createAnalyser();
        analyser.fftSize = 512;
        src.connect(analyser);
        analyser.connect(this.audio.destination);
        lane.analyser = analyser;
        lane.buf = new Float32Array(analyser.fftSize);
      }
    } catch { this.audio = null; }
  }

  play() {
    if (!this.data) return;
    this.ensureAudio();
    if (this.audio && this.audio.state === "suspended") this.audio.resume().catch(() => {});
    this.playing = true;
    this.el.play.textContent = t("player.pause");
    this.el.box.dataset.playing = "true";
    this.last = performance.now();
    this.sync(true);
    this.loop();
  }

  pause() {
    this.playing = false;
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = null;
    for (const lane of this.lanes) lane.el.pause();
    if (this.el.play) this.el.play.textContent = t("player.play");
    if (this.el.box) this.el.box.dataset.playing = "false";
  }

  setRate(rate) {
    this.rate = rate;
    for (const lane of this.lanes) lane.el.playbackRate = rate;
  }

  seek(seconds) {
    this.t = Math.min(Math.max(0, seconds), this.duration);
    this.sync(true);
    this.draw();
  }

  loop() {
    this.frame = requestAnimationFrame(() => {
      const now = performance.now();
      this.t += ((now - this.last) / 1000) * this.rate;
      this.last = now;
      if (this.t >= this.duration) { this.t = this.duration; this.sync(true); this.draw(); this.pause(); return; }
      this.sync(false);
      this.draw();
      if (this.playing) this.loop();
    });
  }

  /** Put every lane's element on the segment and offset of the clock (or pause it in a gap). */
  sync(force) {
    const wall = this.data.start + this.t;
    for (const lane of this.lanes) {
      const seg = lane.track.segments.find((s) => wall >= s.start && wall < s.end);
      lane.row.dataset[`gap${lane.track.kind}`] = seg ? "false" : "true";
      if (!seg) { if (!lane.el.paused) lane.el.pause(); lane.el.dataset.segment = ""; continue; }
      const offset = wall - seg.start;
      if (lane.el.dataset.segment !== seg.path) {
        lane.el.dataset.segment = seg.path;
        lane.pending = offset;
        lane.el.src = `/api/v1/recordings/${enc(this.hearingId)}/files/${seg.path.split("/").map(enc).join("/")}`;
        lane.el.playbackRate = this.rate;
        continue;
      }
      if (lane.el.readyState >= 1 && (force || Math.abs(lane.el.currentTime - offset) > RESYNC)) {
        lane.el.currentTime = offset;
      }
      lane.el.playbackRate = this.rate;
      if (this.playing && lane.el.paused && lane.el.readyState >= 1) lane.el.play().catch(() => {});
      if (!this.playing && !lane.el.paused) lane.el.pause();
    }
  }

  draw() {
    if (!this.data) return;
    this.el.clock.textContent = fmtClock(this.t);
    this.el.box.dataset.time = this.t.toFixed(2);
    this.el.wall.textContent = fmtDateTime((this.data.start + this.t) * 1000, "seconds");
    this.el.head.style.left = `${(this.t / this.duration) * 100}%`;
    this.el.bar.setAttribute("aria-valuenow", String(Math.round(this.t)));
    let loudest = null;
    let level = SPEAKING;
    for (const lane of this.lanes) {
      if (!lane.analyser || lane.el.paused) continue;
      lane.analyser.getFloatTimeDomainData(lane.buf);
      let sum = 0;
      for (const v of lane.buf) sum += v * v;
      const rms = Math.sqrt(sum / lane.buf.length);
      if (rms > level) { level = rms; loudest = lane.person.participant_id; }
    }
    for (const lane of this.lanes) {
      lane.row.classList.toggle("speaking", lane.person.participant_id === loudest);
      lane.row.dataset.speaking = String(lane.person.participant_id === loudest);
    }
  }
}
