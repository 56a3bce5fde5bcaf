// The recipient's service page: open the service (the token is after # and never sent
// in a URL), download each document (recorded), acknowledge receipt (typed name and an
// explicit confirmation).

import { $, api, clear, h } from "./dom.js";
import { errorText, fmtDateTime, initI18n, onLanguageChange, t } from "./i18n.js";

const token = decodeURIComponent(location.hash.slice(1));
let info = null;
let lastError = null;

function show(screen) {
  document.body.dataset.screen = screen;
  for (const name of ["loading", "error", "service"]) $(`#screen-${name}`).hidden = name !== screen;
}

function failed(err) {
  lastError = err;
  $("#error-text").textContent = errorText(err);
  show("error");
}

function sizeText(bytes) {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function render() {
  if (!info) return;
  $("#court-name").textContent = info.court;
  $("#svc-intro").textContent = t("svc.intro", { court: info.court, case: info.case_number });
  $("#svc-case").textContent = `${info.case_number} — ${info.title}`;
  $("#svc-name").textContent = info.name;
  $("#svc-when").textContent = fmtDateTime(info.scheduled_at, "full");
  $("#svc-expires").textContent = fmtDateTime(info.expires_at * 1000, "full");
  $("#svc-link-note").hidden = !info.include_link;
  $("#docs-card").hidden = info.documents.length === 0;
  const list = $("#docs");
  clear(list);
  for (const d of info.documents) {
    list.append(h("li", { class: "doc-item", dataset: { sha256: d.sha256 } },
      h("div", { class: "doc-name" }, d.name),
      h("div", { class: "hint" }, `${sizeText(d.size)} · SHA-256 ${d.sha256.slice(0, 16)}…`),
      h("button", {
        type: "button", class: "btn btn-small", "aria-label": t("svc.download_aria", { name: d.name }),
        on: { click: () => download(d) },
      }, t("svc.download"))));
  }
  const ack = info.acknowledged;
  $("#ack-form").hidden = Boolean(ack);
  $("#ack-done").hidden = !ack;
  if (ack) $("#ack-done").textContent = t("svc.ack_done", { time: fmtDateTime(ack.at * 1000, "full"), name: ack.typed_name });
}

async function download(d) {
  try {
    const resp = await fetch("/api/v1/served/download", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, document: d.id }),
    });
    if (!resp.ok) {
      const e = ((await resp.json().catch(() => null)) || {}).error || {};
      throw Object.assign(new Error(e.message || resp.statusText), { code: e.code });
    }
    const url = URL.createObjectURL(await resp.blob());
    const a = h("a", { href: url, download: d.name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (err) {
    failed(err);
  }
}

async function acknowledge(event) {
  event.preventDefault();
  const error = $("#ack-error");
  error.hidden = true;
  const name = $("#ack-name").value;
  const confirm = $("#ack-confirm").checked;
  if (!confirm) {
    error.textContent = t("err.serve.not_confirmed");
    error.hidden = false;
    return;
  }
  $("#ack-submit").disabled = true;
  try {
    const data = await api("POST", "/api/v1/served/acknowledge", { token, name, confirm });
    info.acknowledged = data.acknowledged;
    render();
    $("#ack-done").focus();
  } catch (err) {
    error.textContent = errorText(err);
    error.hidden = false;
  } finally {
    $("#ack-submit").disabled = false;
  }
}

async function main() {
  initI18n($("#lang-select"));
  onLanguageChange(() => { if (lastError) failed(lastError); else render(); });
  $("#ack-form").addEventListener("submit", acknowledge);
  $("#ack-done").tabIndex = -1;
  if (!token) return failed({ code: "serve.not_found" });
  try {
    info = await api("POST", "/api/v1/served/open", { token });
  } catch (err) {
    return failed(err);
  }
  render();
  show("service");
  $("#svc-title").focus();
}

main();
