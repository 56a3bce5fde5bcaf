// The clerk console's reception desk: the queue with waits and topics, take the next or a
// chosen visitor (the call opens in a new tab), end a call with an outcome and a note,
// and today's summary.

import { $, h, clear, api } from "./dom.js";
import { t, errorText, fmtElapsed } from "./i18n.js";

const POLL_MS = 3000;

export class ReceptionDesk {
  constructor(hooks) {
    this.hooks = hooks;
    this.timer = null;
    this.view = null;
    this.log = null;
    this.links = new Map(); // visitor id -> the staff's join link (this page only)
    this.colleagues = new Map(); // visitor id -> the colleague's join link (this page only)
    $("#rcp-take-next").addEventListener("click", () => this.take(null));
  }

  active(on) {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!on) return;
    this.refresh();
    this.timer = setInterval(() => { if (document.visibilityState === "visible") this.refresh(); }, POLL_MS);
  }

  error(err) {
    if (this.hooks.failed(err)) return;
    this.hooks.status(() => errorText(err), {}, "error");
  }

  async refresh() {
    try {
      [this.view, this.log] = await Promise.all([
        api("GET", "/api/v1/reception/desk"), api("GET", "/api/v1/reception/log")]);
    } catch (err) {
      this.error(err);
      return;
    }
    this.render();
  }

  async take(visitorId) {
    try {
      const body = visitorId ? { visitor_id: visitorId } : {};
      const data = await api("POST", "/api/v1/reception/take", body);
      this.links.set(data.visitor.visitor_id, data.link);
      this.hooks.status("con.rcp.taken", { name: data.visitor.name });
      window.open(data.link, "_blank", "noopener");
      await this.refresh();
    } catch (err) {
      this.error(err);
    }
  }

  async invite(v) {
    try {
      const data = await api("POST", `/api/v1/hearings/${encodeURIComponent(v.hearing_id)}/participants/colleague/link`);
      this.colleagues.set(v.visitor_id, data.link);
      this.hooks.status("con.rcp.invited");
      this.render();
    } catch (err) {
      this.error(err);
    }
  }

  async transfer(visitorId, to) {
    try {
      await api("POST", `/api/v1/reception/visitors/${encodeURIComponent(visitorId)}/transfer`, { to: to.trim() });
      this.links.delete(visitorId);
      this.colleagues.delete(visitorId);
      this.hooks.status("con.rcp.transferred", { to: to.trim() });
      await this.refresh();
    } catch (err) {
      this.error(err);
    }
  }

  transferControls(v) {
    const to = h("input", { type: "text", maxlength: 80, class: "rcp-transfer-to",
      "aria-label": t("con.rcp.transfer_to"), placeholder: t("con.rcp.transfer_to") });
    return [to, h("button", { type: "button", class: "btn btn-small btn-quiet rcp-transfer",
      on: { click: () => this.transfer(v.visitor_id, to.value) } }, t("con.rcp.transfer"))];
  }

  async end(visitorId, outcome, note) {
    try {
      await api("POST", `/api/v1/reception/visitors/${encodeURIComponent(visitorId)}/end`, { outcome, note });
      this.links.delete(visitorId);
      this.colleagues.delete(visitorId);
      await this.refresh();
    } catch (err) {
      this.error(err);
    }
  }

  render() {
    if (!this.view) return;
    $("#rcp-duty").textContent = t("con.rcp.on_duty", { n: this.view.staff_on_duty });
    const calls = $("#rcp-calls");
    clear(calls);
    for (const v of this.view.calls) {
      const outcome = h("input", { type: "text", maxlength: 80, class: "rcp-outcome",
        "aria-label": t("con.rcp.outcome"), placeholder: t("con.rcp.outcome") });
      const note = h("input", { type: "text", maxlength: 1000, class: "rcp-note",
        "aria-label": t("con.rcp.note"), placeholder: t("con.rcp.note") });
      const link = this.links.get(v.visitor_id) || v.link; // v.link: a call passed to me
      calls.append(h("li", { class: "card", dataset: { visitorId: v.visitor_id } },
        h("strong", {}, v.name), ` · ${v.topic}`, v.case_number ? ` · ${v.case_number}` : "",
        v.contact ? h("div", { class: "hint" }, v.contact) : null,
        link ? h("a", { href: link, target: "_blank", rel: "noopener", class: "btn btn-small" }, t("con.rcp.open_call")) : null,
        this.colleagues.has(v.visitor_id)
          ? h("div", {}, h("div", { class: "hint" }, t("con.rcp.colleague_link")),
            h("input", { type: "text", readonly: true, value: this.colleagues.get(v.visitor_id),
              class: "link-field rcp-colleague-link", "aria-label": t("con.rcp.colleague_link"),
              on: { focus: (e) => e.target.select() } }))
          : null,
        h("button", { type: "button", class: "btn btn-small btn-quiet rcp-invite",
          on: { click: () => this.invite(v) } }, t("con.rcp.invite")),
        ...this.transferControls(v),
        outcome, note,
        h("button", { type: "button", class: "btn btn-small rcp-end",
          on: { click: () => this.end(v.visitor_id, outcome.value, note.value) } }, t("con.rcp.end"))));
    }
    const body = $("#rcp-queue-body");
    clear(body);
    $("#rcp-empty").hidden = this.view.waiting.length > 0;
    for (const v of this.view.waiting) {
      body.append(h("tr", { dataset: { visitorId: v.visitor_id } },
        h("td", {}, String(v.place)),
        h("th", { scope: "row" }, v.name, v.case_number ? h("div", { class: "hint" }, v.case_number) : null),
        h("td", {}, v.topic),
        h("td", {}, fmtElapsed(v.waited)),
        h("td", {}, h("button", { type: "button", class: "btn btn-small rcp-take",
          on: { click: () => this.take(v.visitor_id) } }, t("con.rcp.take")),
          ...this.transferControls(v))));
    }
    const s = this.log ? this.log.summary : null;
    $("#rcp-summary").textContent = s ? t("con.rcp.summary", {
      visitors: s.visitors, taken: s.taken,
      wait: s.mean_wait === null ? "—" : fmtElapsed(s.mean_wait) }) : "";
  }
}
