// The hearing room: video grid, self view, own controls, notices, badges.

import { $, h, clear, initials } from "./dom.js";
import { t, errorText, roleName, onLanguageChange } from "./i18n.js";
import { can, byRoleThenName } from "./roles.js";
import { ModPanel } from "./moderation.js";
import { Mediation, MAIN_ROOM } from "./mediation.js";
import { Desk } from "./desk.js";
import { Interpretation } from "./interpretation.js";

export class Room {
  /**
   * @param {object} app  the page's shared state (see join.js)
   * @param {object} hooks  {onLeave: () => void}
   */
  constructor(app, hooks) {
    this.app = app;
    this.hooks = hooks;
    this.opened = false;
    this.el = {
      title: $("#room-title"),
      caseNo: $("#room-case"),
      name: $("#room-name"),
      phase: $("#phase-badge"),
      lock: $("#lock-badge"),
      rec: $("#recording-badge"),
      notices: $("#room-notices"),
      grid: $("#video-grid"),
      audio: $("#audio-sink"),
      people: $("#people-list"),
      peoplePanel: $("#people-panel"),
      mic: $("#mic-btn"),
      micLabel: $("#mic-label"),
      cam: $("#cam-btn"),
      camLabel: $("#cam-label"),
      screen: $("#screen-btn"),
      screenLabel: $("#screen-label"),
      leave: $("#leave-btn"),
      leaveDialog: $("#leave-dialog"),
    };
    this.mod = new ModPanel(app, this);
    this.mediation = new Mediation(app, this);
    this.desk = new Desk(app);
    this.interp = new Interpretation(app, this);
    this.el.mic.addEventListener("click", () => this.toggle("audio"));
    this.el.cam.addEventListener("click", () => this.toggle("video"));
    this.el.screen.addEventListener("click", () => this.toggleScreen());
    this.el.leave.addEventListener("click", () => this.askLeave());
    this.el.leaveDialog.addEventListener("close", () => {
      if (this.el.leaveDialog.returnValue === "leave") this.hooks.onLeave();
    });
    this.notices = new Map();
    onLanguageChange(() => {
      if (!this.opened) return;
      this.render();
      for (const key of this.notices.keys()) this.drawNotice(key);
    });
  }

  open() {
    const app = this.app;
    this.opened = true;
    this.el.caseNo.textContent = app.info.hearing.case_number;
    this.el.name.textContent = app.info.hearing.title;
    const role = app.you.role;
    this.el.screen.hidden = !(can(role, "share_screen") && navigator.mediaDevices
      && typeof navigator.mediaDevices.getDisplayMedia === "function");
    this.el.mic.hidden = !can(role, "publish");
    this.el.cam.hidden = !can(role, "publish");
    this.mod.setup(role);
    this.interp.setup(role);
    this.mediation.setup(role, (app.state && app.state.kind) || app.info.hearing.kind);
    this.el.peoplePanel.hidden = can(role, "see_lobby");
    this.desk.setup();
    this.render();
  }

  // ---- rendering ------------------------------------------------------------------

  render() {
    if (!this.opened) return;
    this.syncForcedMutes();
    this.renderBadges();
    this.renderTiles();
    this.renderAudio();
    this.renderPeople();
    this.renderControls();
    this.mod.render();
    this.mediation.render();
    this.desk.render();
  }

  me() {
    const pid = this.app.you.participant_id;
    return this.app.presence.find((p) => p.participant_id === pid) || this.app.you;
  }

  renderBadges() {
    const s = this.app.state;
    if (this.app.offline) {
      // nothing the page shows can be confirmed while the server is out of reach
      this.el.phase.textContent = t("phase.unknown");
      this.el.phase.dataset.phase = "unknown";
      this.el.rec.dataset.recording = "unknown";
      this.el.rec.textContent = t("rec.unknown");
      return;
    }
    this.renderInterruption(s.interruption);
    this.el.phase.textContent = t(`phase.${s.phase}`);
    this.el.phase.dataset.phase = s.phase;
    this.el.lock.hidden = !s.locked;
    const rec = this.el.rec;
    rec.dataset.recording = s.recording;
    if (s.recording === "on") rec.textContent = t("rec.on");
    else if (s.recording === "paused") {
      rec.textContent = s.recording_reason
        ? t("rec.paused_reason", { reason: s.recording_reason })
        : t("rec.paused");
    } else rec.textContent = t("rec.off");
  }

  /** The hearing's node restarted or was taken over: say so once, with how long. */
  renderInterruption(info) {
    if (!info || this.shownInterruption === info.from) return;
    this.shownInterruption = info.from;
    const key = info.recording_gap ? "room.interrupted_gap" : "room.interrupted";
    this.notice("interrupted", {
      tone: "warn",
      text: () => t(key, { seconds: Math.round(Number(info.seconds) || 0) }),
      actions: [{ label: () => t("common.dismiss"), run: () => this.dismiss("interrupted") }],
    });
  }

  /** One tile per person (camera) plus one per screen share; the self view last. */
  renderTiles() {
    const app = this.app;
    const me = app.you.participant_id;
    const byPid = new Map();
    for (const [mid, who] of Object.entries(app.media ? app.media.tracks : {})) {
      if (!who) continue;
      // a screen share that carries nothing is gone; a stalled camera shows the name card
      if (who.source === "screen" && app.media.stalled(mid)) continue;
      if (!byPid.has(who.participant_id)) byPid.set(who.participant_id, {});
      byPid.get(who.participant_id)[who.source] = mid;
    }
    const screens = [];
    const people = [];
    // in a mediation only the people in my room (joint session or caucus) are on screen
    const others = app.presence
      .filter((p) => p.participant_id !== me && p.state === "admitted" && this.mediation.withMe(p))
      .sort(byRoleThenName);
    for (const p of others) {
      const mids = byPid.get(p.participant_id) || {};
      if (mids.screen) screens.push({ key: `scr:${p.participant_id}`, member: p, source: "screen", mid: mids.screen });
      if (!can(p.role, "publish") && !mids.camera) continue; // the public gallery is not on screen
      people.push({ key: `cam:${p.participant_id}`, member: p, source: "camera", mid: mids.camera });
    }
    const self = this.me();
    const wanted = [...screens, ...people];
    if (app.screenTrack) wanted.unshift({ key: "self-screen", member: self, source: "screen", self: true });
    if (can(app.you.role, "publish")) wanted.push({ key: "self", member: self, source: "camera", self: true });

    const grid = this.el.grid;
    const existing = new Map(Array.from(grid.children).map((el) => [el.dataset.key, el]));
    wanted.forEach((w, i) => {
      let el = existing.get(w.key);
      if (!el) el = this.makeTile(w);
      existing.delete(w.key);
      this.updateTile(el, w);
      if (grid.children[i] !== el) grid.insertBefore(el, grid.children[i] || null);
    });
    for (const el of existing.values()) {
      const video = el.querySelector("video");
      if (video) video.srcObject = null;
      el.remove();
    }
    grid.dataset.count = String(wanted.length);
    grid.classList.toggle("has-screen", wanted.some((w) => w.source === "screen"));
    if (!wanted.length) {
      grid.append(h("p", { class: "grid-empty", dataset: { key: "empty" } },
        t(this.mediation.enabled ? "caucus.nobody_here" : "room.nobody_yet")));
    }
  }

  makeTile(w) {
    const video = h("video", {
      class: `tile-video ${w.self ? "self-video" : "remote-video"}`,
      autoplay: true, playsinline: true, muted: true,
      dataset: { participantId: w.member.participant_id, source: w.source },
    });
    video.muted = true; // sound comes from the <audio> sinks
    return h("figure", {
      class: `tile tile-${w.source}${w.self ? " tile-self" : ""}`,
      dataset: { key: w.key, participantId: w.member.participant_id, source: w.source },
    },
    h("div", { class: "tile-placeholder", "aria-hidden": "true" },
      h("span", { class: "avatar" }, initials(w.member.name))),
    video,
    h("figcaption", { class: "tile-caption" },
      h("span", { class: "tile-name" }),
      h("span", { class: "tile-role" }),
      h("span", { class: "tile-flags" })));
  }

  updateTile(el, w) {
    const app = this.app;
    const m = w.member;
    const video = el.querySelector("video");
    let track = null;
    if (w.self) track = w.source === "screen" ? app.screenTrack : app.devices.videoTrack;
    else if (w.mid && app.media && !app.media.stalled(w.mid)) track = app.media.trackOf(w.mid);
    const cur = video.srcObject && video.srcObject.getVideoTracks ? video.srcObject.getVideoTracks()[0] : null;
    if (cur !== track) {
      video.srcObject = track ? new MediaStream([track]) : null;
      if (track) video.play().catch(() => {});
    }
    const videoOff = w.source === "camera" && (w.self ? app.local.video.muted : m.video_muted);
    el.classList.toggle("no-video", !track || videoOff);
    el.classList.toggle("disconnected", !w.self && m.connected === false);
    const name = w.source === "screen"
      ? t(w.self ? "room.your_screen" : "room.screen_of", { name: m.name })
      : w.self ? t("room.you_name", { name: m.name }) : m.name;
    el.querySelector(".tile-name").textContent = name;
    el.querySelector(".tile-role").textContent = w.source === "screen" ? "" : roleName(m.role);
    const flags = el.querySelector(".tile-flags");
    clear(flags);
    if (w.source === "camera") {
      const forced = w.self ? app.local.audio.forced : m.forced_audio_mute;
      const muted = w.self ? app.local.audio.muted : m.audio_muted;
      if (forced) flags.append(h("span", { class: "flag flag-forced" }, t("room.flag_forced")));
      else if (muted) flags.append(h("span", { class: "flag" }, t("room.flag_muted")));
      const away = w.self ? "here" : this.app.away(m);
      if (away !== "here") {
        flags.append(h("span", { class: "flag flag-warn", dataset: { away } },
          t(away === "gone" ? "room.flag_gone" : "room.flag_reconnecting")));
      }
    }
    el.setAttribute("aria-label", `${name}${w.source === "camera" ? `, ${roleName(m.role)}` : ""}`);
  }

  /** One <audio> per receiving audio mid: whoever is behind it is heard. */
  renderAudio() {
    const media = this.app.media;
    const sink = this.el.audio;
    const keep = new Set();
    if (media) {
      for (const mid of Object.keys(media.tracks || {})) {
        const track = media.trackOf(mid);
        if (!track || track.kind !== "audio") continue;
        keep.add(mid);
        let audio = sink.querySelector(`audio[data-mid="${CSS.escape(mid)}"]`);
        if (!audio) {
          audio = h("audio", { autoplay: true, dataset: { mid } });
          sink.append(audio);
        }
        const cur = audio.srcObject ? audio.srcObject.getAudioTracks()[0] : null;
        if (cur !== track) {
          audio.srcObject = new MediaStream([track]);
          audio.play().catch(() => {});
        }
      }
    }
    for (const audio of Array.from(sink.querySelectorAll("audio"))) {
      if (!keep.has(audio.dataset.mid)) {
        audio.srcObject = null;
        audio.remove();
      }
    }
    this.interp.mix(Array.from(sink.querySelectorAll("audio")));
  }

  renderPeople() {
    if (this.el.peoplePanel.hidden) return;
    const list = this.el.people;
    clear(list);
    const me = this.app.you.participant_id;
    const people = this.app.presence.filter((p) => p.state === "admitted").sort(byRoleThenName);
    for (const p of people) {
      const states = [];
      if (p.forced_audio_mute) states.push(t("room.flag_forced"));
      else if (p.audio_muted) states.push(t("room.flag_muted"));
      const away = this.app.away(p);
      if (away !== "here") states.push(t(away === "gone" ? "room.flag_gone" : "room.flag_reconnecting"));
      if (this.mediation.enabled && !this.mediation.withMe(p)) {
        states.push((p.room || MAIN_ROOM) === MAIN_ROOM ? t("caucus.in_main") : t("caucus.in_private"));
      }
      list.append(h("li", { class: "person", dataset: { participantId: p.participant_id, room: p.room || MAIN_ROOM } },
        h("span", { class: "avatar avatar-small", "aria-hidden": "true" }, initials(p.name)),
        h("span", { class: "person-main" },
          h("span", { class: "person-name" }, p.participant_id === me ? t("room.you_name", { name: p.name }) : p.name),
          h("span", { class: "person-role" }, roleName(p.role))),
        states.length ? h("span", { class: "person-state" }, states.join(" · ")) : null));
    }
  }

  renderControls() {
    const app = this.app;
    const a = app.local.audio;
    const v = app.local.video;
    const hasMic = Boolean(app.devices.audioTrack);
    const hasCam = Boolean(app.devices.videoTrack);
    this.el.mic.disabled = a.forced || !hasMic;
    this.el.mic.classList.toggle("is-off", a.muted || !hasMic);
    this.el.mic.classList.toggle("is-forced", a.forced);
    this.el.micLabel.textContent = !hasMic ? t("room.no_mic")
      : a.forced ? t("room.mic_forced") : a.muted ? t("room.unmute") : t("room.mute");
    this.el.mic.dataset.state = a.forced ? "forced" : a.muted ? "muted" : "on";
    this.el.cam.disabled = v.forced || !hasCam;
    this.el.cam.classList.toggle("is-off", v.muted || !hasCam);
    this.el.cam.classList.toggle("is-forced", v.forced);
    this.el.camLabel.textContent = !hasCam ? t("room.no_camera")
      : v.forced ? t("room.cam_forced") : v.muted ? t("room.cam_on") : t("room.cam_off");
    this.el.cam.dataset.state = v.forced ? "forced" : v.muted ? "muted" : "on";
    this.el.screen.classList.toggle("is-active", Boolean(app.screenTrack));
    // the court allows a screen share (the bench needs no leave)
    const mayShare = this.me().screen_allowed !== false;
    this.el.screen.disabled = !mayShare && !app.screenTrack;
    this.el.screen.dataset.allowed = String(mayShare);
    this.interp.render();
    this.el.screenLabel.textContent = app.screenTrack ? t("room.screen_stop")
      : mayShare ? t("room.screen_share") : t("room.screen_ask");
  }

  // ---- own controls ----------------------------------------------------------------

  setEnabled(kind, enabled) {
    const track = kind === "audio" ? this.app.devices.audioTrack : this.app.devices.videoTrack;
    if (track) track.enabled = enabled;
  }

  async toggle(kind) {
    const s = this.app.local[kind];
    if (s.forced) return;
    await this.setMuted(kind, !s.muted);
  }

  async setMuted(kind, muted) {
    const s = this.app.local[kind];
    s.muted = muted;
    this.setEnabled(kind, !muted);
    if (!muted) this.dismiss(`lifted-${kind}`);
    if (muted) this.dismiss(`request-${kind}`);
    this.render();
    const ack = await this.app.emit("self_mute", { kind, muted });
    if (!ack.ok) this.error(ack.error);
  }

  async toggleScreen() {
    if (this.app.screenTrack) return this.stopScreen();
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
    } catch (err) {
      if (!err || err.name !== "NotAllowedError") this.notice("screen", { tone: "warn", text: () => t("room.screen_failed") });
      return;
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    try { track.contentHint = "detail"; } catch { /* old browser */ }
    this.app.screenTrack = track;
    track.addEventListener("ended", () => this.stopScreen());
    this.render();
    const ack = await this.app.emit("media.publish", { source: "screen" });
    if (!ack.ok) {
      if (this.app.screenTrack === track) this.app.screenTrack = null;
      track.stop();
      this.error(ack.error);
      this.render();
      return;
    }
    // a known screen mid is reused at once; otherwise the server's next offer carries one
    await this.app.media.setSource("screen", track);
  }

  async stopScreen() {
    const track = this.app.screenTrack;
    if (!track) return;
    this.app.screenTrack = null;
    track.stop();
    this.render();
    if (this.app.media) await this.app.media.setSource("screen", null);
    const ack = await this.app.emit("media.unpublish", { source: "screen" });
    if (!ack.ok && ack.error.code !== "media.not_connected") this.error(ack.error);
  }

  askLeave() {
    const dialog = this.el.leaveDialog;
    if (typeof dialog.showModal === "function") {
      dialog.returnValue = "";
      dialog.showModal();
      // the safe choice has the focus, not the destructive one
      const stay = dialog.querySelector("#leave-stay");
      if (stay) stay.focus();
    } else {
      this.hooks.onLeave();
    }
  }

  // ---- what the court does to me ---------------------------------------------------

  /** Keep the local state in line with the server's view of me (missed events, reconnects). */
  syncForcedMutes() {
    const me = this.me();
    for (const kind of ["audio", "video"]) {
      const forced = Boolean(me[`forced_${kind}_mute`]);
      if (forced && !this.app.local[kind].forced) this.forceMuted(kind, false);
      else if (!forced && this.app.local[kind].forced) this.muteLifted(kind, false);
    }
  }

  forceMuted(kind, rerender = true) {
    const s = this.app.local[kind];
    const was = s.forced;
    s.forced = true;
    if (!s.muted) {
      s.muted = true;
      this.setEnabled(kind, false);
      this.app.emit("self_mute", { kind, muted: true });
    }
    this.setEnabled(kind, false);
    this.dismiss(`request-${kind}`);
    this.dismiss(`lifted-${kind}`);
    this.notice(`forced-${kind}`, {
      tone: "warn",
      text: () => t(kind === "audio" ? "room.forced_audio" : "room.forced_video"),
    });
    if (!was && rerender) this.render();
  }

  muteLifted(kind, rerender = true) {
    const s = this.app.local[kind];
    if (!s.forced) return;
    s.forced = false;
    this.dismiss(`forced-${kind}`);
    this.notice(`lifted-${kind}`, {
      tone: "info",
      text: () => t(kind === "audio" ? "room.lifted_audio" : "room.lifted_video"),
      actions: [
        { label: () => t(kind === "audio" ? "room.unmute_now" : "room.cam_on_now"), primary: true, run: () => this.setMuted(kind, false) },
        { label: () => t("common.dismiss"), run: () => this.dismiss(`lifted-${kind}`) },
      ],
    });
    if (rerender) this.render();
  }

  muteRequested(kind) {
    if (this.app.local[kind].muted) return;
    this.notice(`request-${kind}`, {
      tone: "info",
      text: () => t(kind === "audio" ? "room.request_audio" : "room.request_video"),
      actions: [
        { label: () => t(kind === "audio" ? "room.mute_now" : "room.cam_off_now"), primary: true, run: () => this.setMuted(kind, true) },
        { label: () => t("common.dismiss"), run: () => this.dismiss(`request-${kind}`) },
      ],
    });
  }

  /** A narrow link: the node holds back some video from this page (audio never). */
  videoHeldBack(held) {
    this.heldBack = held.map((x) => x.participant_id);
    if (!held.length) {
      this.dismiss("held-back");
      return;
    }
    const names = () => held
      .map((x) => (this.app.presence.find((p) => p.participant_id === x.participant_id) || {}).name
        || x.participant_id)
      .join(", ");
    this.notice("held-back", {
      tone: "warn",
      text: () => t("room.video_held_back", { count: held.length, names: names() }),
    });
  }

  // ---- notices ------------------------------------------------------------------------
  // A notice's text and labels are functions, so a language switch redraws them.

  notice(key, spec) {
    this.notices.set(key, spec);
    this.drawNotice(key);
  }

  drawNotice(key) {
    const spec = this.notices.get(key);
    if (!spec) return;
    const { tone = "info", text, actions = [] } = spec;
    const str = (v) => (typeof v === "function" ? v() : v);
    const id = `notice-${key}`;
    const el = h("div", { class: `notice notice-${tone}`, id, dataset: { notice: key } },
      h("p", { class: "notice-text" }, str(text)),
      actions.length ? h("div", { class: "btn-row" }, actions.map((a) => h("button", {
        type: "button",
        class: `btn btn-small ${a.primary ? "btn-primary" : "btn-quiet"}`,
        on: { click: () => a.run() },
      }, str(a.label)))) : null);
    const old = document.getElementById(id);
    if (old) old.replaceWith(el);
    else this.el.notices.append(el);
  }

  dismiss(key) {
    this.notices.delete(key);
    const el = document.getElementById(`notice-${key}`);
    if (el) el.remove();
  }

  clearNotices() {
    for (const key of Array.from(this.notices.keys())) this.dismiss(key);
  }

  error(err) {
    this.notice("error", {
      tone: "error",
      text: () => errorText(err),
      actions: [{ label: () => t("common.dismiss"), run: () => this.dismiss("error") }],
    });
  }
}
