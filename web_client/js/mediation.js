// Mediation in the room: where everyone is (joint session or a private caucus), the
// mediator's caucus controls, and the settlement terms the parties confirm.
//
// Events (docs/protocol.md, "Mediation"): caucus.open {name, participant_ids} -> {caucus},
// caucus.move {participant_id?, room}, caucus.end, settlement.draft {text} -> {sha256},
// settlement.confirm {sha256, typed_name, confirm: true}, settlement.get -> {settlement}.
// The state carries caucuses [{id, name}] and settlement; presence entries carry room.
// The server keeps media inside each room: the page only shows what it receives.

import { $, h, clear, keepFocus } from "./dom.js";
import { t, errorText, roleName, fmtDateTime, onLanguageChange } from "./i18n.js";
import { can, byRoleThenName } from "./roles.js";

export const MAIN_ROOM = "main";

export class Mediation {
  constructor(app, room) {
    this.app = app;
    this.room = room;
    this.enabled = false;
    this.host = false;
    this.dirty = false; // the mediator is editing the terms
    this.lastSha = null; // the terms this page last showed
    this.changedNotice = false;
    this.el = {
      where: $("#room-where"),
      whereText: $("#room-where-text"),
      whereAway: $("#room-where-away"),
      caucus: $("#caucus-panel"),
      caucusStatus: $("#caucus-status"),
      rooms: $("#caucus-rooms"),
      form: $("#caucus-form"),
      name: $("#caucus-name"),
      members: $("#caucus-members"),
      membersEmpty: $("#caucus-members-empty"),
      joinSelf: $("#caucus-join-self"),
      openBtn: $("#caucus-open-btn"),
      end: $("#caucus-end"),
      settlement: $("#settlement-panel"),
      sStatus: $("#settlement-status"),
      dStatus: $("#settlement-draft-status"),
      draftForm: $("#settlement-draft-form"),
      text: $("#settlement-text"),
      publish: $("#settlement-publish"),
      none: $("#settlement-none"),
      view: $("#settlement-view"),
      terms: $("#settlement-terms"),
      termsHeading: $("#settlement-terms-heading"),
      meta: $("#settlement-meta"),
      confirmations: $("#settlement-confirmations"),
      confirmForm: $("#settlement-confirm-form"),
      typed: $("#settlement-name"),
      typedLabel: $("#settlement-name-label"),
      agree: $("#settlement-agree"),
      confirm: $("#settlement-confirm"),
      done: $("#settlement-done"),
      download: $("#settlement-download"),
    };
    const e = this.el;
    e.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.openCaucus(); });
    e.end.addEventListener("click", () => this.act("caucus.end", {}, "caucus.done_end"));
    e.text.addEventListener("input", () => {
      this.dirty = true;
      this.renderPublish();
    });
    e.draftForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.publish(); });
    e.confirmForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.confirmTerms(); });
    e.download.addEventListener("click", () => this.downloadTerms());
    onLanguageChange(() => {
      for (const el of [e.caucusStatus, e.sStatus, e.dStatus]) if (!el.hidden && el.sayText) el.textContent = el.sayText();
    });
  }

  setup(role, kind) {
    this.enabled = kind === "mediation";
    this.host = this.enabled && can(role, "caucus");
    this.role = role;
    this.el.where.hidden = !this.enabled;
    this.el.caucus.hidden = !this.host;
    this.el.settlement.hidden = !this.enabled;
    this.el.draftForm.hidden = !this.host;
    for (const [sel, plain, mediation] of [["#people-heading", "room.people", "room.people_mediation"],
      ["#mod-heading", "mod.heading", "mod.heading_mediation"]]) {
      const heading = $(sel);
      heading.dataset.i18n = this.enabled ? mediation : plain;
      heading.textContent = t(heading.dataset.i18n);
    }
  }

  /** My room (or "main" outside a mediation). */
  myRoom() {
    return this.enabled ? (this.room.me().room || MAIN_ROOM) : MAIN_ROOM;
  }

  /** Whether a person is in my room: only they are on screen. */
  withMe(p) {
    return !this.enabled || (p.room || MAIN_ROOM) === this.myRoom();
  }

  roomName(id) {
    if (!id || id === MAIN_ROOM) return t("caucus.main");
    const c = (this.app.state.caucuses || []).find((x) => x.id === id);
    return c ? c.name : id;
  }

  admitted() {
    return this.app.presence.filter((p) => p.state === "admitted").sort(byRoleThenName);
  }

  render() {
    if (!this.enabled) return;
    this.renderWhere();
    if (this.host) this.renderCaucus();
    this.renderSettlement();
  }

  // ---- where am I -----------------------------------------------------------------

  renderWhere() {
    const mine = this.myRoom();
    const e = this.el;
    e.where.dataset.room = mine === MAIN_ROOM ? "main" : "caucus";
    e.where.dataset.roomId = mine;
    e.whereText.textContent = mine === MAIN_ROOM
      ? t("caucus.you_in_main")
      : t("caucus.you_in_caucus", { name: this.roomName(mine) });
    const me = this.app.you.participant_id;
    const mediators = this.admitted().filter((p) => p.role === "mediator" && p.participant_id !== me);
    const away = !this.host && mediators.length > 0 && mediators.every((p) => (p.room || MAIN_ROOM) !== mine);
    e.whereAway.hidden = !away;
    e.where.dataset.mediatorAway = away ? "true" : "false";
    if (away) e.whereAway.textContent = t("caucus.mediator_away");
  }

  // ---- the mediator's rooms panel ----------------------------------------------------

  renderCaucus() {
    const e = this.el;
    const me = this.app.you.participant_id;
    const people = this.admitted();
    const rooms = [{ id: MAIN_ROOM, name: t("caucus.main") }, ...(this.app.state.caucuses || [])];
    const mine = this.myRoom();
    keepFocus(e.rooms, () => {
      clear(e.rooms);
      for (const r of rooms) {
        const members = people.filter((p) => (p.room || MAIN_ROOM) === r.id);
        const here = r.id === mine;
        const block = h("div", { class: `room-block${here ? " is-here" : ""}`, dataset: { room: r.id } },
          h("div", { class: "room-block-head" },
            h("span", { class: "room-block-name" }, r.name),
            here ? h("span", { class: "badge badge-here" }, t("caucus.you_are_here")) : null,
            r.id !== MAIN_ROOM ? h("span", { class: "badge badge-neutral" }, t("caucus.not_recorded")) : null,
            here ? null : h("button", {
              type: "button", class: "btn btn-small", id: `goto-${r.id}`,
              "aria-label": t("caucus.go_here_aria", { name: r.name }),
              on: { click: () => this.act("caucus.move", { room: r.id }, "caucus.done_moved_self") },
            }, t("caucus.go_here"))),
          members.length ? h("ul", { class: "list room-members" },
            members.map((p) => this.memberRow(p, rooms, me)))
            : h("p", { class: "hint" }, t("caucus.room_empty")));
        e.rooms.append(block);
      }
    });
    // who can be put in a new caucus: everyone admitted except me
    const others = people.filter((p) => p.participant_id !== me);
    const ticked = new Set(Array.from(e.members.querySelectorAll("input:checked")).map((x) => x.value));
    keepFocus(e.members, () => {
      clear(e.members);
      for (const p of others) {
        const id = `caucus-pick-${p.participant_id}`;
        e.members.append(h("label", { class: "check", for: id },
          h("input", { type: "checkbox", id, value: p.participant_id, checked: ticked.has(p.participant_id) }),
          h("span", {}, t("common.name_role", { name: p.name, role: roleName(p.role) }))));
      }
    });
    e.membersEmpty.hidden = others.length > 0;
    e.openBtn.disabled = others.length === 0;
    e.end.disabled = !(this.app.state.caucuses || []).length
      && people.every((p) => (p.room || MAIN_ROOM) === MAIN_ROOM);
  }

  memberRow(p, rooms, me) {
    const pid = p.participant_id;
    const self = pid === me;
    const current = p.room || MAIN_ROOM;
    const row = h("li", { class: "person", dataset: { participantId: pid } },
      h("span", { class: "person-main" },
        h("span", { class: "person-name" }, self ? t("room.you_name", { name: p.name }) : p.name),
        h("span", { class: "person-role" }, roleName(p.role))));
    if (!self && rooms.length > 1) {
      const select = h("select", {
        id: `move-room-${pid}`, class: "move-select",
        "aria-label": t("caucus.move_aria", { name: p.name }),
      }, rooms.map((r) => h("option", { value: r.id, selected: r.id === current }, r.name)));
      row.append(h("span", { class: "move-box" }, select,
        h("button", {
          type: "button", class: "btn btn-small", id: `move-btn-${pid}`,
          on: {
            click: () => {
              if (select.value === current) return;
              this.act("caucus.move", { participant_id: pid, room: select.value }, "caucus.done_moved");
            },
          },
        }, t("caucus.move"))));
    }
    return row;
  }

  async openCaucus() {
    const e = this.el;
    const ids = Array.from(e.members.querySelectorAll("input:checked")).map((x) => x.value);
    if (!ids.length) {
      this.say(e.caucusStatus, () => t("caucus.pick_someone"), true);
      return;
    }
    const name = e.name.value.trim() || t("caucus.default_name", { n: (this.app.state.caucuses || []).length + 1 });
    e.openBtn.disabled = true;
    const ack = await this.app.emit("caucus.open", { name, participant_ids: ids });
    e.openBtn.disabled = false;
    if (!ack.ok) {
      this.say(e.caucusStatus, () => errorText(ack.error), true);
      return;
    }
    if (e.joinSelf.checked) {
      const moved = await this.app.emit("caucus.move", { room: ack.caucus });
      if (!moved.ok) {
        this.say(e.caucusStatus, () => errorText(moved.error), true);
        return;
      }
    }
    e.name.value = "";
    for (const box of e.members.querySelectorAll("input:checked")) box.checked = false;
    this.say(e.caucusStatus, () => t("caucus.done_opened", { name }));
  }

  async act(event, data, doneKey) {
    const ack = await this.app.emit(event, data);
    if (!ack.ok) {
      this.say(this.el.caucusStatus, () => errorText(ack.error), true);
      return false;
    }
    if (doneKey) this.say(this.el.caucusStatus, () => t(doneKey));
    return true;
  }

  /** Show a short status; `text` is a function so that it follows a language change. */
  say(el, text, isError = false) {
    el.hidden = false;
    el.sayText = typeof text === "function" ? text : () => text;
    el.textContent = el.sayText();
    el.classList.toggle("is-error", isError);
    el.dataset.kind = isError ? "error" : "ok";
    clearTimeout(el.sayTimer);
    if (!isError) el.sayTimer = setTimeout(() => { el.hidden = true; }, 6000);
  }

  // ---- settlement -----------------------------------------------------------------------

  settlement() {
    return this.app.state.settlement || null;
  }

  renderSettlement() {
    const e = this.el;
    const s = this.settlement();
    const me = this.app.you.participant_id;
    const sha = s ? s.sha256 : null;
    if (this.lastSha && sha && sha !== this.lastSha && !this.host) {
      // the mediator changed the terms under the reader: start the confirmation over
      e.agree.checked = false;
      this.changedNotice = true;
    }
    this.lastSha = sha;
    if (this.host && !this.dirty && document.activeElement !== e.text) e.text.value = s ? s.text : "";
    this.renderPublish();
    e.none.hidden = Boolean(s);
    e.none.textContent = this.host ? t("settle.none_host") : t("settle.none");
    e.view.hidden = !s;
    const mine = s && s.confirmations ? s.confirmations[me] : null;
    const isParty = this.role === "party";
    e.confirmForm.hidden = !s || !isParty || Boolean(mine);
    e.done.hidden = !mine;
    e.download.hidden = !s || !(mine || this.host);
    if (!s) return;
    e.terms.textContent = s.text;
    // the mediator reads the published text in the editor, unless they are changing it
    e.terms.hidden = this.host && e.text.value === s.text;
    e.termsHeading.hidden = e.terms.hidden;
    e.meta.textContent = t("settle.meta", { time: fmtDateTime(s.drafted_at * 1000, "short"), fp: s.sha256.slice(0, 12) });
    if (mine) e.done.textContent = t("settle.you_confirmed", { time: fmtDateTime(mine.at * 1000, "short") });
    e.typedLabel.textContent = t("settle.type_name", { name: this.app.you.name });
    if (this.changedNotice && isParty && !mine) this.say(e.sStatus, () => t("settle.changed_reread"), true);

    // one row per party (present now or who confirmed), with when they confirmed
    const confirmations = s.confirmations || {};
    const parties = new Map();
    for (const p of this.app.presence) if (p.role === "party") parties.set(p.participant_id, p.name);
    for (const [pid, c] of Object.entries(confirmations)) parties.set(pid, c.name);
    clear(e.confirmations);
    for (const [pid, name] of parties) {
      const c = confirmations[pid];
      e.confirmations.append(h("li", {
        class: `confirmation${c ? " is-confirmed" : ""}`,
        dataset: { participantId: pid, confirmed: c ? "true" : "false" },
      },
      h("span", { class: "confirmation-mark", "aria-hidden": "true" }, c ? "✓" : "…"),
      h("span", { class: "person-main" },
        h("span", { class: "person-name" }, pid === me ? t("room.you_name", { name }) : name),
        h("span", { class: "person-role" }, c
          ? t("settle.confirmed_at", { time: fmtDateTime(c.at * 1000, "seconds"), typed: c.typed_name })
          : t("settle.not_yet")))));
    }
    if (!parties.size) e.confirmations.append(h("li", { class: "hint" }, t("settle.no_parties")));
  }

  renderPublish() {
    const e = this.el;
    const s = this.settlement();
    const same = Boolean(s) && e.text.value === s.text;
    e.publish.textContent = !s ? t("settle.publish") : same ? t("settle.published_btn") : t("settle.publish_again");
    e.publish.disabled = same;
    if (s) {
      e.terms.hidden = this.host && same;
      e.termsHeading.hidden = e.terms.hidden;
    }
  }

  async publish() {
    const e = this.el;
    const text = e.text.value;
    if (!text.trim()) {
      this.say(e.dStatus, () => t("settle.empty"), true);
      e.text.focus();
      return;
    }
    e.publish.disabled = true;
    const ack = await this.app.emit("settlement.draft", { text });
    e.publish.disabled = false;
    if (!ack.ok) {
      this.say(e.dStatus, () => errorText(ack.error), true);
      return;
    }
    this.dirty = false;
    this.say(e.dStatus, () => t("settle.published"));
    this.renderPublish();
  }

  async confirmTerms() {
    const e = this.el;
    const s = this.settlement();
    if (!s) return;
    const typed = e.typed.value.trim();
    if (!typed) {
      this.say(e.sStatus, () => t("settle.need_name"), true);
      e.typed.focus();
      return;
    }
    if (!e.agree.checked) {
      this.say(e.sStatus, () => t("settle.need_tick"), true);
      e.agree.focus();
      return;
    }
    e.confirm.disabled = true;
    const ack = await this.app.emit("settlement.confirm", { sha256: s.sha256, typed_name: typed, confirm: true });
    e.confirm.disabled = false;
    if (!ack.ok) {
      if (ack.error.code === "settlement.changed") e.agree.checked = false;
      this.say(e.sStatus, () => errorText(ack.error), true);
      return;
    }
    this.changedNotice = false;
    this.say(e.sStatus, () => t("settle.thanks"));
  }

  async downloadTerms() {
    let s = this.settlement();
    const ack = await this.app.emit("settlement.get", {});
    if (ack.ok && ack.settlement) s = ack.settlement;
    if (!s) return;
    const blob = new Blob([s.text], { type: "text/plain;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const caseNo = String(this.app.info.hearing.case_number || "mediation").replace(/[^\w.-]+/g, "_");
    const a = h("a", { href: url, download: `settlement-${caseNo}-${s.sha256.slice(0, 8)}.txt`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}
