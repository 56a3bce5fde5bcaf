// The clerk console's electronic service: upload documents, make a notice of hearing,
// serve by e-mail, and the service record with its certificate.
//
// REST (staff cookie):
//   POST /api/v1/hearings/{id}/documents?name=   (raw file body)  -> {document}
//   GET  /api/v1/hearings/{id}/documents                           -> {documents}
//   POST /api/v1/hearings/{id}/participants/{pid}/notice           -> {document}
//   POST /api/v1/hearings/{id}/services  {participant_id, email, documents, include_link}
//   GET  /api/v1/hearings/{id}/services                            -> {services}
//   GET  /api/v1/hearings/{id}/services/certificate                (PDF)

import { $, h, clear, api, ApiError } from "./dom.js";
import { t, errorText, fmtDateTime, roleName } from "./i18n.js";

const enc = encodeURIComponent;

export class Serving {
  /**
   * @param {object} hooks
   * @param {() => object|null} hooks.hearing  the hearing open in the console
   * @param {(key: string|Function, vars?: object, tone?: string) => void} hooks.status
   * @param {(err: Error) => boolean} hooks.failed  handles 401; true when handled
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.documents = [];
    this.services = [];
    this.hearingId = null;
    $("#svc-upload-form").addEventListener("submit", (e) => { e.preventDefault(); this.upload(); });
    $("#svc-notice").addEventListener("click", () => this.notice());
    $("#svc-serve-form").addEventListener("submit", (e) => { e.preventDefault(); this.serve(); });
  }

  base() {
    return `/api/v1/hearings/${enc(this.hearingId)}`;
  }

  error(err) {
    if (this.hooks.failed(err)) return;
    this.hooks.status(() => errorText(err), {}, "error");
  }

  async refresh() {
    const hearing = this.hooks.hearing();
    if (!hearing) return;
    if (hearing.id !== this.hearingId) {
      this.hearingId = hearing.id;
      this.documents = [];
      this.services = [];
    }
    const id = this.hearingId;
    try {
      const [docs, services] = await Promise.all([
        api("GET", `${this.base()}/documents`), api("GET", `${this.base()}/services`)]);
      if (id !== this.hearingId) return;
      this.documents = docs.documents || [];
      this.services = services.services || [];
    } catch (err) {
      this.error(err);
      return;
    }
    this.render();
  }

  async upload() {
    const input = $("#svc-file");
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      const resp = await fetch(`${this.base()}/documents?name=${enc(file.name)}`, {
        method: "POST", credentials: "same-origin", body: file,
        headers: { "Content-Type": "application/octet-stream", Accept: "application/json" },
      });
      const data = await resp.json().catch(() => null);
      if (!resp.ok) {
        const e = (data && data.error) || {};
        throw new ApiError(e.code || `http.${resp.status}`, e.message || resp.statusText, resp.status);
      }
      input.value = "";
      this.hooks.status("con.svc.uploaded", { name: data.document.name, sha: data.document.sha256.slice(0, 12) });
      await this.refresh();
    } catch (err) {
      this.error(err);
    }
  }

  async notice() {
    const pid = $("#svc-pid").value;
    try {
      await api("POST", `${this.base()}/participants/${enc(pid)}/notice`);
      this.hooks.status("con.svc.notice_made", { name: this.nameOf(pid) });
      await this.refresh();
    } catch (err) {
      this.error(err);
    }
  }

  async serve() {
    const documents = Array.from(document.querySelectorAll("#svc-docs input:checked")).map((i) => i.value);
    const body = {
      participant_id: $("#svc-pid").value, email: $("#svc-email").value.trim(),
      documents, include_link: $("#svc-include-link").checked,
    };
    $("#svc-serve").disabled = true;
    try {
      const data = await api("POST", `${this.base()}/services`, body);
      const s = data.service;
      const tone = s.status === "failed" ? "error" : "ok";
      this.hooks.status("con.svc.served", { name: s.name, status: t(`con.svc.status.${s.status}`) }, tone);
      $("#svc-email").value = "";
      await this.refresh();
    } catch (err) {
      this.error(err);
    } finally {
      $("#svc-serve").disabled = false;
    }
  }

  nameOf(pid) {
    const hearing = this.hooks.hearing();
    const p = hearing && hearing.participants.find((x) => x.id === pid);
    return p ? p.name : pid;
  }

  render() {
    const hearing = this.hooks.hearing();
    if (!hearing) return;
    const pick = $("#svc-pid");
    const chosen = pick.value;
    clear(pick);
    for (const p of hearing.participants) {
      pick.append(h("option", { value: p.id }, `${p.name} (${roleName(p.role)})`));
    }
    if (chosen && hearing.participants.some((p) => p.id === chosen)) pick.value = chosen;
    const checked = new Set(Array.from(document.querySelectorAll("#svc-docs input:checked")).map((i) => i.value));
    const docs = $("#svc-docs");
    clear(docs);
    $("#svc-no-docs").hidden = this.documents.length > 0;
    for (const d of this.documents) {
      docs.append(h("li", {},
        h("label", { class: "check" },
          h("input", { type: "checkbox", value: d.id, checked: checked.has(d.id) }),
          h("span", {},
            h("a", { href: `${this.base()}/documents/${enc(d.id)}`, target: "_blank", rel: "noopener" }, d.name),
            h("span", { class: "hint" }, ` · SHA-256 ${d.sha256.slice(0, 12)}…`)))));
    }
    $("#svc-certificate").href = `${this.base()}/services/certificate`;
    const body = $("#svc-record-body");
    clear(body);
    $("#svc-none").hidden = this.services.length > 0;
    for (const s of this.services.slice().sort((a, b) => b.served_at - a.served_at)) {
      const failed = s.attempts.filter((a) => !a.ok).pop();
      const cell = (epoch, extra) => (epoch
        ? h("td", {}, fmtDateTime(epoch * 1000, "short"), extra ? h("div", { class: "hint" }, extra) : null)
        : h("td", { class: "muted" }, "—"));
      body.append(h("tr", { dataset: { serviceId: s.id, status: s.status } },
        h("th", { scope: "row" }, h("span", { class: "person-name" }, s.name),
          h("span", { class: "hint" }, s.address),
          h("div", { class: "hint" }, s.documents.map((d) => d.name).join(", "))),
        h("td", {}, h("span", { class: `badge svc-${s.status}`, dataset: { status: s.status } }, t(`con.svc.status.${s.status}`)),
          failed && s.status === "failed" ? h("div", { class: "hint" }, t("con.svc.attempt_failed", { detail: failed.detail })) : null),
        cell(s.sent_at),
        cell(s.opened.length ? s.opened[0].at : null, s.opened.length ? s.opened[0].from : null),
        cell(s.downloads.length ? s.downloads[0].at : null, s.downloads.length ? s.downloads[0].from : null),
        cell(s.acknowledged ? s.acknowledged.at : null, s.acknowledged ? `“${s.acknowledged.typed_name}” · ${s.acknowledged.from}` : null)));
    }
  }
}
