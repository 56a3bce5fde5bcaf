// The clerk's desk in the hearing room (issue 17): the minutes (clerk, judge, mediator)
// and the exhibits (offered by parties, counsel and the court; marked and shown by the
// court). Every refusal is shown.
//
// socket.io: minutes.add {text} -> {minute}; minutes.list -> {minutes}; pushed "minute".
//            exhibit.list -> {exhibits}; exhibit.mark {exhibit_id, status};
//            exhibit.show {exhibit_id}; pushed "exhibit" and "exhibit.shown".
// REST (X-Join-Token): POST/GET /api/v1/hearings/{id}/exhibits[/{exhibit_id}].

import { $, h, clear } from "./dom.js";
import { t, errorText, fmtDateTime } from "./i18n.js";
import { can } from "./roles.js";

const enc = encodeURIComponent;

export class Desk {
  constructor(app) {
    this.app = app;
    this.minutes = [];
    this.exhibits = new Map();
    this.viewUrl = null;
    this.el = {
      minutesPanel: $("#minutes-panel"),
      minuteForm: $("#minute-form"),
      minuteText: $("#minute-text"),
      minutesList: $("#minutes-list"),
      minutesStatus: $("#minutes-status"),
      exhibitsPanel: $("#exhibits-panel"),
      offerForm: $("#exhibit-form"),
      offerTitle: $("#exhibit-title"),
      offerFile: $("#exhibit-file"),
      exhibitsList: $("#exhibits-list"),
      exhibitsStatus: $("#exhibits-status"),
      view: $("#exhibit-view"),
      viewTitle: $("#exhibit-view-title"),
      viewBody: $("#exhibit-view-body"),
      viewClose: $("#exhibit-view-close"),
    };
    this.el.minuteForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.addMinute(); });
    this.el.offerForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.offer(); });
    this.el.viewClose.addEventListener("click", () => this.closeView());
  }

  get keeper() { return can(this.app.you.role, "minutes"); }

  base() {
    return `${this.app.nodeUrl || ""}/api/v1/hearings/${enc(this.app.info.hearing.id)}/exhibits`;
  }

  async setup() {
    const role = this.app.you.role;
    this.el.minutesPanel.hidden = !this.keeper;
    this.el.offerForm.hidden = !(this.keeper || role === "party" || role === "counsel");
    if (this.keeper) {
      const ack = await this.app.emit("minutes.list", {});
      if (ack.ok) this.minutes = ack.minutes;
    }
    const ack = await this.app.emit("exhibit.list", {});
    if (ack.ok) for (const x of ack.exhibits) this.exhibits.set(x.exhibit_id, x);
    this.render();
  }

  status(el, err) {
    el.hidden = !err;
    el.textContent = err ? errorText(err) : "";
  }

  async addMinute() {
    const text = this.el.minuteText.value.trim();
    if (!text) return;
    const ack = await this.app.emit("minutes.add", { text });
    if (!ack.ok) { this.status(this.el.minutesStatus, ack.error); return; }
    this.status(this.el.minutesStatus, null);
    this.el.minuteText.value = "";
    this.minuteArrived(ack.minute);
  }

  minuteArrived(minute) {
    if (!minute) return;
    this.minutes.push(minute);
    this.render();
  }

  exhibitArrived(item) {
    if (!item || !item.exhibit_id) return;
    this.exhibits.set(item.exhibit_id, item);
    this.render();
  }

  async offer() {
    const file = this.el.offerFile.files && this.el.offerFile.files[0];
    const title = this.el.offerTitle.value.trim();
    if (!file || !title) { this.status(this.el.exhibitsStatus, { code: "input.invalid" }); return; }
    const url = `${this.base()}?title=${enc(title)}&file_name=${enc(file.name)}`;
    let resp;
    try {
      resp = await fetch(url, { method: "POST", body: file, headers: {
        "X-Join-Token": this.app.token, "Content-Type": file.type || "application/octet-stream" } });
    } catch {
      this.status(this.el.exhibitsStatus, { code: "network.unreachable" });
      return;
    }
    const data = await resp.json().catch(() => null);
    if (!resp.ok) { this.status(this.el.exhibitsStatus, (data && data.error) || { code: "unknown" }); return; }
    this.status(this.el.exhibitsStatus, null);
    this.el.offerForm.reset();
    this.exhibitArrived(data.exhibit);
  }

  async act(event, data) {
    const ack = await this.app.emit(event, data);
    if (!ack.ok) { this.status(this.el.exhibitsStatus, ack.error); return; }
    this.status(this.el.exhibitsStatus, null);
    this.exhibitArrived(ack.exhibit);
    if (event === "exhibit.show") this.show(ack.exhibit);
  }

  async show(item) {
    this.exhibitArrived(item);
    const resp = await fetch(`${this.base()}/${enc(item.exhibit_id)}`,
      { headers: { "X-Join-Token": this.app.token } }).catch(() => null);
    if (!resp || !resp.ok) { this.status(this.el.exhibitsStatus, { code: "exhibit.not_found" }); return; }
    const blob = await resp.blob();
    this.closeView();
    this.viewUrl = URL.createObjectURL(blob);
    const type = String(item.content_type);
    let body;
    if (type.startsWith("image/")) body = h("img", { src: this.viewUrl, alt: item.title, class: "exhibit-image" });
    else if (type === "text/plain") body = h("pre", { class: "exhibit-text", text: await blob.text() });
    else body = h("iframe", { src: this.viewUrl, title: item.title, class: "exhibit-frame" });
    this.el.viewTitle.textContent = t("desk.shown_title", { title: item.title });
    this.el.viewBody.append(body);
    this.el.view.hidden = false;
    this.el.view.dataset.exhibit = item.exhibit_id;
  }

  closeView() {
    clear(this.el.viewBody);
    if (this.viewUrl) URL.revokeObjectURL(this.viewUrl);
    this.viewUrl = null;
    this.el.view.hidden = true;
  }

  render() {
    clear(this.el.minutesList);
    for (const m of this.minutes) {
      this.el.minutesList.append(h("li", { class: "minute" },
        h("time", { datetime: m.at, class: "minute-time", text: fmtDateTime(m.at, "time") }), " ",
        h("span", { class: "minute-text", text: m.text })));
    }
    clear(this.el.exhibitsList);
    const items = [...this.exhibits.values()];
    this.el.exhibitsPanel.hidden = !items.length && this.el.offerForm.hidden;
    if (!items.length) this.el.exhibitsList.append(h("li", { class: "muted", text: t("desk.exhibits_empty") }));
    for (const x of items) {
      const actions = this.keeper ? h("span", { class: "btn-row" },
        h("button", { type: "button", class: "btn btn-small", text: t("desk.admit"),
          on: { click: () => this.act("exhibit.mark", { exhibit_id: x.exhibit_id, status: "admitted" }) } }),
        h("button", { type: "button", class: "btn btn-small", text: t("desk.refuse"),
          on: { click: () => this.act("exhibit.mark", { exhibit_id: x.exhibit_id, status: "refused" }) } }),
        h("button", { type: "button", class: "btn btn-small btn-primary", text: t("desk.show"),
          disabled: x.status === "refused",
          on: { click: () => this.act("exhibit.show", { exhibit_id: x.exhibit_id }) } })) : null;
      this.el.exhibitsList.append(h("li", { class: "exhibit", dataset: { exhibit: x.exhibit_id, status: x.status } },
        h("strong", { text: x.title }), " ",
        h("span", { class: "badge badge-neutral exhibit-status", text: t(`desk.status.${x.status}`) }),
        h("span", { class: "hint", text: ` ${x.exhibit_id} · sha256 ${String(x.sha256).slice(0, 12)}…` }),
        actions));
    }
  }
}
