// The bench's controls inside the hearing room (judge, clerk, mediator): lobby queue,
// participants, lock, conduct of the hearing, recording. Every refusal is shown.

import { $, h, clear, keepFocus } from "./dom.js";
import { t, errorText, roleName } from "./i18n.js";
import { can, byRoleThenName } from "./roles.js";

/** Above this many people in the room, each row is one line and its actions fold away. */
const COMPACT_FROM = 4;

export class ModPanel {
  constructor(app, room) {
    this.app = app;
    this.room = room;
    this.enabled = false;
    this.pending = null; // {action: "deny"|"remove", pid, reason}
    this.reasonAction = null; // "pause" | "stop"
    this.busy = false;
    // the last media gap of each participant: {seconds, time}
    this.gaps = new Map();
    this.el = {
      panel: $("#mod-panel"),
      sticky: $("#mod-sticky"),
      status: $("#mod-status"),
      conduct: $("#conduct-group"),
      start: $("#conduct-start"),
      recess: $("#conduct-recess"),
      resume: $("#conduct-resume"),
      adjourn: $("#conduct-adjourn"),
      adjournConfirm: $("#adjourn-confirm"),
      adjournYes: $("#adjourn-yes"),
      adjournNo: $("#adjourn-no"),
      lockGroup: $("#lock-group"),
      lock: $("#lock-toggle"),
      record: $("#record-group"),
      recState: $("#rec-state"),
      recStart: $("#rec-start"),
      recPause: $("#rec-pause"),
      recResume: $("#rec-resume"),
      recStop: $("#rec-stop"),
      reasonForm: $("#rec-reason-form"),
      reasonLabel: $("#rec-reason-label"),
      reason: $("#rec-reason"),
      reasonSubmit: $("#rec-reason-submit"),
      reasonCancel: $("#rec-reason-cancel"),
      lobby: $("#lobby-list"),
      lobbyEmpty: $("#lobby-empty"),
      lobbyCount: $("#lobby-count"),
      admitAll: $("#admit-all"),
      alert: $("#lobby-alert"),
      people: $("#mod-people"),
      gone: $("#gone-list"),
      goneGroup: $("#gone-group"),
      peopleEmpty: $("#mod-people-empty"),
    };
    this.expanded = null; // in a full room, the one participant whose actions are shown
    this.seenLobby = null; // participant ids already announced (null: first render)
    this.chimes = 0;
    const e = this.el;
    e.admitAll.addEventListener("click", () => this.admitAll());
    e.start.addEventListener("click", () => this.act("conduct", { action: "start" }, "mod.done_start"));
    e.recess.addEventListener("click", () => this.act("conduct", { action: "recess" }, "mod.done_recess"));
    e.resume.addEventListener("click", () => this.act("conduct", { action: "resume" }, "mod.done_resume"));
    e.adjourn.addEventListener("click", () => {
      e.adjournConfirm.hidden = false;
      e.adjournNo.focus();
    });
    e.adjournNo.addEventListener("click", () => {
      e.adjournConfirm.hidden = true;
      e.adjourn.focus();
    });
    e.adjournYes.addEventListener("click", async () => {
      e.adjournConfirm.hidden = true;
      await this.act("conduct", { action: "adjourn" }, "mod.done_adjourn");
    });
    e.lock.addEventListener("change", () => {
      const locked = e.lock.checked;
      this.act("lock", { locked }, locked ? "mod.done_lock" : "mod.done_unlock");
    });
    e.recStart.addEventListener("click", () => this.act("recording", { action: "start" }, "mod.done_rec_start"));
    e.recResume.addEventListener("click", () => this.act("recording", { action: "resume" }, "mod.done_rec_resume"));
    e.recPause.addEventListener("click", () => this.openReason("pause"));
    e.recStop.addEventListener("click", () => this.openReason("stop"));
    e.reasonCancel.addEventListener("click", () => this.closeReason());
    e.reasonForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = e.reason.value.trim();
      if (!reason) {
        this.say(t("mod.reason_required"), true);
        e.reason.focus();
        return;
      }
      const action = this.reasonAction;
      const ok = await this.act("recording", { action, reason },
        action === "pause" ? "mod.done_rec_pause" : "mod.done_rec_stop");
      if (ok) this.closeReason();
    });
  }

  setup(role) {
    this.role = role;
    this.enabled = can(role, "see_lobby");
    this.el.panel.hidden = !this.enabled;
    this.el.sticky.hidden = !this.enabled;
    this.el.conduct.hidden = !can(role, "conduct");
    this.el.record.hidden = !can(role, "record");
    this.el.lockGroup.hidden = !can(role, "moderate");
  }

  /** Admit everyone waiting (a public gallery), one admit each: every refusal is shown. */
  async admitAll() {
    const lobby = this.app.presence.filter((p) => p.state === "lobby");
    let admitted = 0;
    for (const p of lobby) {
      const ack = await this.app.emit("admit", { participant_id: p.participant_id });
      if (!ack.ok) {
        this.say(errorText(ack.error), true);
        return;
      }
      admitted += 1;
    }
    this.say(t("mod.done_admitted_all", { n: admitted }));
  }

  /** Someone new reached the lobby: a chime and a notice at the top of the panel. */
  announceArrivals(lobby) {
    const ids = new Set(lobby.map((p) => p.participant_id));
    const first = this.seenLobby === null;
    const fresh = first ? [] : lobby.filter((p) => !this.seenLobby.has(p.participant_id));
    this.seenLobby = ids;
    const e = this.el;
    if (!lobby.length) {
      e.alert.hidden = true;
      return;
    }
    if (!fresh.length) return;
    const names = fresh.map((p) => p.name).join(", ");
    e.alert.textContent = t(fresh.length === 1 ? "mod.arrived_one" : "mod.arrived_many", { names });
    e.alert.hidden = false;
    clearTimeout(this.alertTimer);
    this.alertTimer = setTimeout(() => { e.alert.hidden = true; }, 15000);
    this.chime();
  }

  chime() {
    this.chimes += 1;
    this.el.panel.dataset.chimes = String(this.chimes);
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      if (!this.audioCtx) this.audioCtx = new Ctx();
      const ctx = this.audioCtx;
      if (ctx.state === "suspended") ctx.resume().catch(() => {});
      const now = ctx.currentTime;
      [659.25, 880].forEach((freq, i) => {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = freq;
        const at = now + i * 0.18;
        gain.gain.setValueAtTime(0, at);
        gain.gain.linearRampToValueAtTime(0.15, at + 0.02);
        gain.gain.linearRampToValueAtTime(0, at + 0.3);
        osc.connect(gain).connect(ctx.destination);
        osc.start(at);
        osc.stop(at + 0.32);
      });
    } catch {
      // no sound device: the notice is still shown
    }
  }

  openReason(action) {
    this.reasonAction = action;
    const e = this.el;
    e.reasonForm.hidden = false;
    e.reasonForm.dataset.action = action;
    this.renderReasonLabels();
    e.reason.value = "";
    e.reason.focus();
  }

  renderReasonLabels() {
    const action = this.reasonAction;
    if (!action) return;
    this.el.reasonLabel.textContent = t(action === "pause" ? "mod.rec_reason_pause" : "mod.rec_reason_stop");
    this.el.reasonSubmit.textContent = t(action === "pause" ? "mod.rec_pause_confirm" : "mod.rec_stop_confirm");
  }

  closeReason() {
    this.reasonAction = null;
    this.el.reasonForm.hidden = true;
    this.el.reason.value = "";
  }

  /** Send one moderation event; show the refusal, or a short confirmation. */
  async act(event, data, doneKey) {
    const ack = await this.app.emit(event, data);
    if (!ack.ok) {
      this.say(errorText(ack.error), true);
      this.render(); // put toggles back as the server has them
      return false;
    }
    if (doneKey) this.say(t(doneKey));
    return true;
  }

  say(text, isError = false) {
    const s = this.el.status;
    s.hidden = false;
    s.textContent = text;
    s.classList.toggle("is-error", isError);
    s.dataset.kind = isError ? "error" : "ok";
    clearTimeout(this.sayTimer);
    if (!isError) this.sayTimer = setTimeout(() => { s.hidden = true; }, 6000);
  }

  render() {
    if (!this.enabled) return;
    const app = this.app;
    const st = app.state;
    const e = this.el;
    const over = st.phase === "adjourned";
    e.start.disabled = !["scheduled", "open"].includes(st.phase);
    e.recess.disabled = st.phase !== "in_session";
    e.resume.disabled = st.phase !== "recess";
    e.adjourn.disabled = over;
    e.lock.checked = Boolean(st.locked);
    e.lock.disabled = over;
    e.recStart.disabled = over || st.recording !== "off";
    e.recPause.disabled = over || st.recording !== "on";
    e.recResume.disabled = over || st.recording !== "paused";
    e.recStop.disabled = over || st.recording === "off";
    e.recState.textContent = st.recording === "on" ? t("rec.on")
      : st.recording === "paused" ? (st.recording_reason ? t("rec.paused_reason", { reason: st.recording_reason }) : t("rec.paused"))
        : t("rec.off");
    if (app.offline) {
      // out of reach: nothing here can be confirmed or done until the server is back
      for (const b of [e.start, e.recess, e.resume, e.adjourn, e.lock, e.recStart, e.recPause,
        e.recResume, e.recStop]) b.disabled = true;
      e.recState.textContent = t("rec.unknown");
    }
    this.renderReasonLabels();

    const me = app.you.participant_id;
    const lobby = app.presence.filter((p) => p.state === "lobby").sort(byRoleThenName);
    const inRoom = app.presence.filter((p) => p.state === "admitted" && p.participant_id !== me)
      .sort(byRoleThenName);
    if (this.pending && !app.presence.some((p) => p.participant_id === this.pending.pid
      && p.state === (this.pending.action === "deny" ? "lobby" : "admitted"))) this.pending = null;

    e.lobbyCount.textContent = lobby.length ? `(${lobby.length})` : "";
    e.admitAll.hidden = lobby.length < 2 || !can(this.role, "admit");
    this.announceArrivals(lobby);
    e.lobbyEmpty.hidden = lobby.length > 0;
    keepFocus(e.lobby, () => {
      clear(e.lobby);
      for (const p of lobby) e.lobby.append(this.lobbyRow(p, st.locked));
    });
    const gone = app.presence.filter((p) => p.state === "removed" || p.state === "left")
      .sort(byRoleThenName);
    e.goneGroup.hidden = !gone.length || !can(this.role, "admit");
    keepFocus(e.gone, () => {
      clear(e.gone);
      for (const p of gone) e.gone.append(this.goneRow(p));
    });
    e.peopleEmpty.hidden = inRoom.length > 0;
    // a full room: one line per person, the actions of one person at a time
    this.compact = inRoom.length > COMPACT_FROM;
    e.people.classList.toggle("is-compact", this.compact);
    keepFocus(e.people, () => {
      clear(e.people);
      for (const p of inRoom) e.people.append(this.personRow(p));
    });
  }

  lobbyRow(p, locked) {
    const pid = p.participant_id;
    const row = h("li", { class: "mod-row", dataset: { participantId: pid, state: "lobby" } },
      h("div", { class: "mod-row-head" },
        h("span", { class: "person-main" },
          h("span", { class: "person-name", title: p.name }, p.name),
          h("span", { class: "person-role" }, roleName(p.role)
            + (p.connected ? "" : ` · ${t("mod.not_connected")}`)))),
      h("div", { class: "btn-row" },
        h("button", {
          type: "button", class: "btn btn-xs btn-primary", id: `admit-${pid}`,
          "aria-label": t("mod.admit_aria", { name: p.name }),
          title: locked ? t("mod.unlock_to_admit") : null,
          on: { click: () => this.act("admit", { participant_id: pid }, "mod.done_admitted") },
        }, t("mod.admit")),
        h("button", {
          type: "button", class: "btn btn-xs", id: `deny-${pid}`,
          "aria-label": t("mod.deny_aria", { name: p.name }),
          on: { click: () => this.askReason("deny", pid) },
        }, t("mod.deny"))));
    if (this.pending && this.pending.pid === pid && this.pending.action === "deny") row.append(this.reasonForm(p));
    return row;
  }

  personRow(p) {
    const pid = p.participant_id;
    const states = [];
    if (!can(p.role, "publish")) {
      // an observer sends nothing: no microphone state to show
    } else if (p.forced_audio_mute) states.push(t("mod.s_audio_forced"));
    else if (p.audio_muted) states.push(t("mod.s_audio_muted"));
    else states.push(t("mod.s_audio_on"));
    if (!can(p.role, "publish")) {
      // (idem for video)
    } else if (p.forced_video_mute) states.push(t("mod.s_video_forced"));
    else if (p.video_muted) states.push(t("mod.s_video_off"));
    if (p.screen_allowed && !can(p.role, "moderate")) states.push(t("mod.s_screen_allowed"));
    const away = this.app.away(p);
    if (away !== "here") states.push(t(away === "gone" ? "room.flag_gone" : "room.flag_reconnecting"));
    const btn = (id, label, aria, run, cls = "") => h("button", {
      type: "button", class: `btn btn-xs ${cls}`, id: `${id}-${pid}`,
      "aria-label": aria, on: { click: run },
    }, label);
    const buttons = [];
    if (can(p.role, "publish")) {
      if (!p.forced_audio_mute && !p.audio_muted) {
        buttons.push(btn("ask-mute", t("mod.ask_mute"), t("mod.ask_mute_aria", { name: p.name }),
          () => this.act("mute", { participant_id: pid, kind: "audio", force: false }, "mod.done_asked")));
      }
      if (!p.forced_audio_mute) {
        buttons.push(btn("force-mute", t("mod.force_mute"), t("mod.force_mute_aria", { name: p.name }),
          () => this.act("mute", { participant_id: pid, kind: "audio", force: true }, "mod.done_forced")));
      } else {
        buttons.push(btn("lift-mute", t("mod.lift"), t("mod.lift_aria", { name: p.name }),
          () => this.act("unmute", { participant_id: pid, kind: "audio" }, "mod.done_lifted")));
      }
      if (!p.forced_video_mute) {
        buttons.push(btn("stop-video", t("mod.stop_video"), t("mod.stop_video_aria", { name: p.name }),
          () => this.act("mute", { participant_id: pid, kind: "video", force: true }, "mod.done_video_stopped")));
      } else {
        buttons.push(btn("allow-video", t("mod.allow_video"), t("mod.allow_video_aria", { name: p.name }),
          () => this.act("unmute", { participant_id: pid, kind: "video" }, "mod.done_video_allowed")));
      }
    }
    if (can(p.role, "share_screen") && !can(p.role, "moderate")) {
      // the court controls screen sharing, separately from the camera
      if (!p.screen_allowed) {
        buttons.push(btn("allow-screen", t("mod.allow_screen"), t("mod.allow_screen_aria", { name: p.name }),
          () => this.act("screen.allow", { participant_id: pid, allowed: true }, "mod.done_screen_allowed")));
      } else {
        buttons.push(btn("stop-screen", t("mod.stop_screen"), t("mod.stop_screen_aria", { name: p.name }),
          () => this.act("screen.allow", { participant_id: pid, allowed: false }, "mod.done_screen_stopped")));
      }
    }
    if (!can(p.role, "conduct") && can(this.role, "admit")) {
      buttons.push(btn("to-lobby", t("mod.to_lobby"), t("mod.to_lobby_aria", { name: p.name }),
        () => this.act("send_to_lobby", { participant_id: pid }, "mod.done_to_lobby")));
    }
    if (!can(p.role, "conduct")) {
      buttons.push(btn("remove", t("mod.remove"), t("mod.remove_aria", { name: p.name }),
        () => this.askReason("remove", pid), "btn-danger-quiet"));
    }
    const moderate = can(this.role, "moderate");
    const open = !this.compact || this.expanded === pid
      || (this.pending && this.pending.pid === pid);
    const main = h("span", { class: "person-main" },
      h("span", { class: "person-name", title: p.name }, p.name),
      h("span", { class: "person-role" }, roleName(p.role)));
    const head = this.compact && moderate
      ? h("button", {
        type: "button", class: "mod-row-head mod-row-toggle", id: `actions-${pid}`,
        "aria-expanded": String(Boolean(open)),
        on: { click: () => { this.expanded = this.expanded === pid ? null : pid; this.render(); } },
      }, main, h("span", { class: "person-state" }, states.join(" · ")))
      : h("div", { class: "mod-row-head" }, main,
        h("span", { class: "person-state" }, states.join(" · ")));
    const media = this.mediaLine(p);
    const row = h("li", { class: "mod-row", dataset: { participantId: pid, state: "admitted" } },
      head, media, moderate && open ? h("div", { class: "btn-row" }, buttons) : null);
    if (this.pending && this.pending.pid === pid && this.pending.action === "remove") row.append(this.reasonForm(p));
    return row;
  }

  /**
   * What the participant's media connection is doing (the server's media.health) and
   * the last gap in it. A compact row shows it only when something is wrong.
   */
  mediaLine(p) {
    const pid = p.participant_id;
    const health = (this.app.mediaHealth || {})[pid];
    // the presence flag says it already; out of reach, nothing here is known
    if (this.app.away(p) !== "here" || this.app.offline) return null;
    const reason = (code) => {
      const key = `mod.m_reason.${code}`;
      return t(key) === key ? t("mod.m_reason.other") : t(key);
    };
    let tone = "ok";
    const parts = [];
    if (!health) {
      tone = "bad";
      parts.push(t("mod.m_none"));
    } else if (health.state === "not_connected") {
      tone = "bad";
      parts.push(t("mod.m_lost", { reason: reason(health.reason) }));
    } else if (health.state === "connecting") {
      tone = health.reason ? "bad" : "warn";
      parts.push(health.reason ? t("mod.m_reconnecting", { reason: reason(health.reason) })
        : t("mod.m_connecting"));
    } else {
      const sending = health.sending;
      if (can(p.role, "publish")) {
        if (sending.length) parts.push(t("mod.m_sending", { sources: sending.map((s) => t(`mod.m_src.${s}`)).join(", ") }));
        else { tone = "warn"; parts.push(t("mod.m_sending_nothing")); }
      }
      if (!health.receiving) { tone = "warn"; parts.push(t("mod.m_not_receiving")); }
      else parts.push(t("mod.m_receiving"));
      if (health.held_back) { tone = "warn"; parts.push(t("mod.m_held_back", { n: health.held_back })); }
    }
    const gap = this.gaps.get(pid);
    if (gap && tone === "ok") parts.push(t("mod.m_gap", { seconds: gap.seconds.toFixed(1), time: gap.time }));
    if (this.compact && tone === "ok" && !gap) return null;
    return h("div", { class: `person-media is-${tone}`, id: `media-${pid}`, dataset: { media: health ? health.state : "none" } },
      parts.join(" · "));
  }

  /** A new media-health map: note each gap that just ended, then redraw. */
  mediaHealth(participants) {
    const before = this.app.mediaHealth || {};
    for (const [pid, now] of Object.entries(participants || {})) {
      const was = before[pid];
      if (was && was.lost_at && now.state === "connected") {
        this.gaps.set(pid, {
          seconds: Math.max(0, now.since - was.lost_at),
          time: new Date(was.lost_at * 1000).toLocaleTimeString(),
        });
      }
    }
    this.app.mediaHealth = participants || {};
    this.render();
  }

  /** Someone removed, excused or gone: the court may call them back (to the lobby). */
  goneRow(p) {
    const pid = p.participant_id;
    return h("li", { class: "mod-row", dataset: { participantId: pid, state: p.state } },
      h("div", { class: "mod-row-head" },
        h("span", { class: "person-main" },
          h("span", { class: "person-name", title: p.name }, p.name),
          h("span", { class: "person-role" }, roleName(p.role))),
        h("span", { class: "person-state" }, t(p.state === "removed" ? "mod.s_removed" : "mod.s_left")),
        h("button", {
          type: "button", class: "btn btn-xs", id: `recall-${pid}`,
          "aria-label": t("mod.recall_aria", { name: p.name }),
          on: { click: () => this.act("recall", { participant_id: pid }, "mod.done_recalled") },
        }, t("mod.recall"))));
  }

  askReason(action, pid) {
    this.pending = { action, pid, reason: "" };
    this.render();
    const field = document.getElementById(`reason-${pid}`);
    if (field) field.focus();
  }

  reasonForm(p) {
    const pid = p.participant_id;
    const action = this.pending.action;
    const input = h("input", {
      type: "text", id: `reason-${pid}`, maxlength: "500", autocomplete: "off",
      value: this.pending.reason,
      on: { input: (ev) => { if (this.pending) this.pending.reason = ev.target.value; } },
    });
    const form = h("form", { class: "confirm", on: {
      submit: async (ev) => {
        ev.preventDefault();
        const reason = input.value.trim();
        this.pending = null;
        await this.act(action, { participant_id: pid, reason }, action === "deny" ? "mod.done_denied" : "mod.done_removed");
        this.render();
      },
    } },
    h("label", { for: `reason-${pid}` },
      t(action === "deny" ? "mod.deny_reason" : "mod.remove_reason", { name: p.name })),
    input,
    h("div", { class: "btn-row" },
      h("button", { type: "submit", class: "btn btn-small btn-danger", id: `confirm-${action}-${pid}` },
        t(action === "deny" ? "mod.deny_confirm" : "mod.remove_confirm")),
      h("button", {
        type: "button", class: "btn btn-small btn-quiet", id: `cancel-${action}-${pid}`,
        on: { click: () => { this.pending = null; this.render(); } },
      }, t("common.cancel"))));
    return form;
  }
}
