// The clerk console: sign in, list and schedule hearings, issue links, watch service, event log.

import { $, h, clear, api, focusHeading, copyText } from "./dom.js";
import {
  initI18n, t, hasKey, errorText, roleName, kindName, fmtDateTime, onLanguageChange,
  LANGUAGES,
} from "./i18n.js";
import { Records } from "./records.js";
import { Serving } from "./serving.js";
import { ReceptionDesk } from "./reception_desk.js";

const REFRESH_MS = 5000;

const ui = {
  me: null,
  court: null, // GET /api/v1/court: the name and contact line for the printed notice
  hearings: [],
  current: null, // {hearing, state}
  service: [],
  events: [],
  links: new Map(), // `${hearingId}/${pid}` -> url, only while this page is open
  reissuing: null, // pid awaiting confirmation
  refreshTimer: null,
  serviceAt: null,
  status: null,
  records: null, // the case records panel (records.js)
  hearingRecord: undefined, // the open hearing's record summary: undefined = not asked, null = none
};

const SCREENS = ["loading", "signin", "workspace"];

function showScreen(name, focusEl) {
  for (const s of SCREENS) $(`#screen-${s}`).hidden = s !== name;
  document.body.dataset.screen = name;
  if (focusEl) focusHeading(focusEl);
}

function setStatus(key, vars = {}, tone = "ok") {
  ui.status = key ? { key, vars, tone } : null;
  renderStatus();
}

function renderStatus() {
  const el = $("#console-status");
  if (!ui.status) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  el.className = `notice notice-${ui.status.tone}`;
  el.textContent = typeof ui.status.key === "function" ? ui.status.key() : t(ui.status.key, ui.status.vars);
}

// ---- signing in -----------------------------------------------------------------------------

/** The languages a clerk may give a participant's page ("" = their browser's). */
function languageOptions(chosen = "") {
  return [h("option", { value: "", selected: !chosen }, t("console.language_auto")),
    ...Object.entries(LANGUAGES).map(([code, label]) => h("option",
      { value: code, lang: code, selected: code === chosen }, label))];
}

function languageName(code) {
  return LANGUAGES[code] || t("console.language_auto");
}

async function start() {
  api("GET", "/api/v1/court").then((c) => { ui.court = c; }, () => { ui.court = null; });
  try {
    ui.me = await api("GET", "/api/v1/me");
  } catch {
    ui.me = null;
  }
  if (ui.me) await openWorkspace();
  else showScreen("signin", $("#signin-title"));
}

async function signIn(ev) {
  ev.preventDefault();
  const user = $("#signin-user").value.trim();
  const pass = $("#signin-pass").value;
  const error = $("#signin-error");
  error.hidden = true;
  if (!user || !pass) {
    error.hidden = false;
    error.textContent = t("console.sign_in_missing");
    (user ? $("#signin-pass") : $("#signin-user")).focus();
    return;
  }
  $("#signin-submit").disabled = true;
  try {
    ui.me = await api("POST", "/api/v1/session", { username: user, password: pass });
    $("#signin-pass").value = "";
    await openWorkspace();
  } catch (err) {
    error.hidden = false;
    error.textContent = errorText(err);
    $("#signin-pass").focus();
  } finally {
    $("#signin-submit").disabled = false;
  }
}

async function signOut() {
  try { await api("DELETE", "/api/v1/session"); } catch { /* signed out anyway */ }
  stopRefresh();
  ui.me = null;
  ui.current = null;
  ui.links.clear();
  renderWho();
  showScreen("signin", $("#signin-title"));
}

function renderWho() {
  const who = $("#who");
  const out = $("#signout-btn");
  if (!ui.me) {
    who.hidden = true;
    out.hidden = true;
    return;
  }
  who.hidden = false;
  out.hidden = false;
  who.textContent = t("console.signed_in_as", {
    name: ui.me.name || ui.me.username,
    role: t(`staff.${ui.me.role}`),
  });
}

async function openWorkspace() {
  renderWho();
  // reception staff work at the desk: they schedule no hearings and read no recordings
  const reception = ui.me && ui.me.role === "reception";
  $("#new-hearing-btn").hidden = reception;
  $("#recordings-btn").hidden = reception;
  showScreen("workspace", $("#hearings-heading"));
  await loadHearings();
  showDetail("empty");
}

// ---- hearings list -------------------------------------------------------------------------

async function loadHearings() {
  try {
    const data = await api("GET", "/api/v1/hearings");
    ui.hearings = data.hearings || [];
  } catch (err) {
    if (err.status === 401) return signOut();
    setStatus(() => errorText(err), {}, "error");
  }
  renderHearings();
}

function renderHearings() {
  const list = $("#hearing-list");
  const filter = $("#hearing-filter").value.trim().toLowerCase();
  clear(list);
  const items = ui.hearings
    .filter((x) => !filter || `${x.case_number} ${x.title}`.toLowerCase().includes(filter))
    .sort((a, b) => String(b.scheduled_at).localeCompare(String(a.scheduled_at)));
  $("#hearing-list-empty").hidden = items.length > 0;
  $("#hearing-list-empty").textContent = ui.hearings.length ? t("console.no_match") : t("console.no_hearings");
  for (const x of items) {
    const selected = ui.current && ui.current.hearing.id === x.id;
    list.append(h("li", {},
      h("button", {
        type: "button",
        class: `hearing-item${selected ? " is-selected" : ""}`,
        "aria-current": selected ? "true" : null,
        dataset: { hearingId: x.id },
        on: { click: () => openHearing(x.id) },
      },
      h("span", { class: "hearing-item-case" }, x.case_number),
      h("span", { class: "hearing-item-title" }, x.title),
      h("span", { class: "hearing-item-meta" },
        `${kindName(x.kind)} · ${fmtDateTime(x.scheduled_at, "short")}`,
        x.status === "cancelled" ? h("span", { class: "badge badge-warn" }, t("status.cancelled")) : null))));
  }
}

function showDetail(which) {
  $("#detail-empty").hidden = which !== "empty";
  $("#schedule-panel").hidden = which !== "schedule";
  $("#hearing-panel").hidden = which !== "hearing";
  $("#records-panel").hidden = which !== "records";
  $("#reception-panel").hidden = which !== "reception";
  if (ui.reception) ui.reception.active(which === "reception");
  $("#recordings-btn").classList.toggle("is-active", which === "records");
  if (which !== "records" && ui.records) ui.records.closeRecord();
  if (which !== "hearing") {
    stopRefresh();
    ui.current = null;
    renderHearings();
  }
}

// ---- scheduling ----------------------------------------------------------------------------

function participantRow(name = "", role = "party") {
  const n = $("#participant-rows").children.length + 1;
  const id = `p-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const roleSelect = h("select", { id: `${id}-role`, class: "p-role" },
    // the reception call roles are given by the reception desk only
    Object.keys(ui.me?.roles || {}).filter((r) => r !== "reception" && r !== "visitor").map((r) => h("option", { value: r, selected: r === role, dataset: { role: r } }, roleName(r))));
  const row = h("div", { class: "participant-row", dataset: { row: String(n) } },
    h("div", { class: "field" },
      h("label", { for: `${id}-name`, class: "p-name-label" }, t("console.p_name", { n })),
      h("input", { id: `${id}-name`, class: "p-name", value: name, maxlength: "120", autocomplete: "off", required: true })),
    h("div", { class: "field" },
      h("label", { for: `${id}-role`, class: "p-role-label" }, t("console.p_role", { n })),
      roleSelect),
    h("div", { class: "field" },
      h("label", { for: `${id}-lang`, class: "p-lang-label" }, t("console.p_language", { n })),
      h("select", { id: `${id}-lang`, class: "p-lang" }, languageOptions())),
    h("button", {
      type: "button", class: "btn btn-small btn-quiet p-remove",
      "aria-label": t("console.p_remove_aria", { n }),
      on: { click: () => { row.remove(); renumberRows(); } },
    }, t("console.p_remove")));
  return row;
}

function renumberRows() {
  Array.from($("#participant-rows").children).forEach((row, i) => {
    const n = i + 1;
    row.dataset.row = String(n);
    row.querySelector(".p-name-label").textContent = t("console.p_name", { n });
    row.querySelector(".p-role-label").textContent = t("console.p_role", { n });
    row.querySelector(".p-lang-label").textContent = t("console.p_language", { n });
    const auto = row.querySelector('.p-lang option[value=""]');
    if (auto) auto.textContent = t("console.language_auto");
    const rm = row.querySelector(".p-remove");
    rm.textContent = t("console.p_remove");
    rm.setAttribute("aria-label", t("console.p_remove_aria", { n }));
    for (const opt of row.querySelectorAll(".p-role option")) opt.textContent = roleName(opt.value);
  });
}

function openSchedule() {
  const rows = $("#participant-rows");
  $("#schedule-form").reset();
  clear(rows);
  rows.append(participantRow("", "judge"));
  rows.append(participantRow("", "party"));
  renumberRows();
  $("#schedule-error").hidden = true;
  // default: tomorrow at 09:30 local time
  const d = new Date(Date.now() + 24 * 3600 * 1000);
  d.setHours(9, 30, 0, 0);
  const pad = (x) => String(x).padStart(2, "0");
  $("#f-when").value = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  renderTimeZone();
  showDetail("schedule");
  setStatus(null);
  focusHeading($("#schedule-heading"));
}

function renderTimeZone() {
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch { /* unknown */ }
  $("#f-tz").textContent = t("console.tz_hint", { zone: zone || "UTC" });
}

function formError(key, vars, field) {
  const el = $("#schedule-error");
  el.hidden = false;
  el.textContent = typeof key === "function" ? key() : t(key, vars);
  if (field) field.focus();
}

async function submitSchedule(ev) {
  ev.preventDefault();
  $("#schedule-error").hidden = true;
  const caseNo = $("#f-case").value.trim();
  const title = $("#f-title").value.trim();
  const when = $("#f-when").value;
  const minutes = Number($("#f-minutes").value);
  if (!caseNo) return formError("console.need_case", {}, $("#f-case"));
  if (!title) return formError("console.need_title", {}, $("#f-title"));
  const date = when ? new Date(when) : null;
  if (!date || Number.isNaN(date.getTime())) return formError("console.need_when", {}, $("#f-when"));
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) return formError("console.need_minutes", {}, $("#f-minutes"));
  const participants = [];
  for (const row of $("#participant-rows").children) {
    const nameField = row.querySelector(".p-name");
    const name = nameField.value.trim();
    if (!name) return formError("console.need_name", { n: row.dataset.row }, nameField);
    const language = row.querySelector(".p-lang").value;
    participants.push({ name, role: row.querySelector(".p-role").value, ...(language ? { language } : {}) });
  }
  if (!participants.length) return formError("console.need_participants", {}, $("#add-participant"));
  const kind = $("#f-kind").value;
  const host = kind === "hearing" ? "judge" : "mediator";
  if (!participants.some((p) => p.role === host)) {
    return formError(kind === "hearing" ? "console.need_judge" : "console.need_mediator", {},
      $("#participant-rows .p-role"));
  }
  $("#schedule-submit").disabled = true;
  try {
    const created = await api("POST", "/api/v1/hearings", {
      case_number: caseNo, title, kind,
      scheduled_at: date.toISOString(),
      duration_minutes: minutes,
      participants,
    });
    for (const [pid, url] of Object.entries(created.links || {})) {
      ui.links.set(`${created.hearing.id}/${pid}`, url);
    }
    ui.hearings.push(created.hearing);
    await openHearing(created.hearing.id);
    setStatus("console.scheduled_ok", { case: created.hearing.case_number });
  } catch (err) {
    if (err.status === 401) return signOut();
    formError(() => errorText(err));
  } finally {
    $("#schedule-submit").disabled = false;
  }
}

// ---- one hearing ---------------------------------------------------------------------------

async function openHearing(id) {
  setStatus(null);
  ui.reissuing = null;
  if ($("#reschedule-form")) showAction(null);
  try {
    const data = await api("GET", `/api/v1/hearings/${encodeURIComponent(id)}`);
    ui.current = { hearing: data.hearing, state: data.state };
  } catch (err) {
    if (err.status === 401) return signOut();
    setStatus(() => errorText(err), {}, "error");
    return;
  }
  ui.service = [];
  ui.events = [];
  ui.hearingRecord = undefined;
  showDetail("hearing");
  renderHearing();
  renderHearings();
  focusHeading($("#hp-title"));
  await Promise.all([refresh(), loadLinks(id)]);
  startRefresh();
}

/** Each participant's live link, shown again after a reload (asked once per opening: every
 * showing is logged in the hearing's event log). */
async function loadLinks(id) {
  try {
    const data = await api("GET", `/api/v1/hearings/${encodeURIComponent(id)}/links`);
    for (const [pid, url] of Object.entries(data.links || {})) ui.links.set(`${id}/${pid}`, url);
  } catch (err) {
    if (err.status === 401) return signOut();
    if (err.status !== 403) setStatus(() => errorText(err), {}, "error");
    return;
  }
  if (ui.current && ui.current.hearing.id === id) renderService();
}

function currentLinks() {
  const x = ui.current.hearing;
  return x.participants.map((p) => ({ p, url: ui.links.get(`${x.id}/${p.id}`) }))
    .filter((l) => l.url);
}

async function copyAllLinks() {
  const text = currentLinks()
    .map(({ p, url }) => `${p.name} (${roleName(p.role)}): ${url}`).join("\n");
  const area = h("textarea", { class: "sr-only", readonly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  const ok = text ? await copyText(text, area) : false;
  area.remove();
  setStatus(ok ? "console.copied_all" : "console.copy_all_failed", {}, ok ? "ok" : "error");
}

function printLinks() {
  const x = ui.current.hearing;
  const sheet = $("#print-links");
  clear(sheet);
  const court = ui.court || {};
  sheet.append(
    ...(court.name ? [h("p", { class: "print-court" }, court.name)] : []),
    h("h2", {}, t("console.print_title", { case: x.case_number, title: x.title })),
    h("p", {}, t("console.print_when", { time: fmtDateTime(x.scheduled_at) })),
    h("dl", {}, currentLinks().flatMap(({ p, url }) => [
      h("dt", {}, `${p.name} (${roleName(p.role)})`),
      h("dd", {}, url, ...(p.language ? [h("br"), h("span", { class: "print-lang" },
        t("console.print_language", { language: languageName(p.language) }))] : []))])),
    ...(court.contact ? [h("p", { class: "print-contact" },
      t("console.print_contact", { contact: court.contact }))] : []));
  document.body.classList.add("printing-links");
  const done = () => {
    document.body.classList.remove("printing-links");
    window.removeEventListener("afterprint", done);
  };
  window.addEventListener("afterprint", done);
  window.print();
}

function localValue(iso) {
  const d = new Date(iso);
  const pad = (v) => String(v).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function actionsError(err) {
  if (err && err.status === 401) { signOut(); return; }
  const el = $("#actions-error");
  el.hidden = !err;
  el.textContent = err ? (typeof err === "string" ? t(err) : errorText(err)) : "";
}

function showAction(which) {
  $("#reschedule-form").hidden = which !== "reschedule";
  $("#cancel-confirm").hidden = which !== "cancel";
  $("#close-confirm").hidden = which !== "close";
  actionsError(null);
  if (which === "reschedule") {
    $("#r-when").value = localValue(ui.current.hearing.scheduled_at);
    $("#r-when").focus();
  } else if (which === "cancel") {
    $("#cancel-no").focus();
  } else if (which === "close") {
    $("#close-no").focus();
  }
}

async function changeHearing(method, body, okKey, okVars, suffix = "") {
  const x = ui.current.hearing;
  try {
    const data = await api(method, `/api/v1/hearings/${encodeURIComponent(x.id)}${suffix}`, body);
    ui.hearings = ui.hearings.map((y) => (y.id === x.id ? data.hearing : y));
    ui.current = { ...ui.current, hearing: data.hearing };
    showAction(null);
    setStatus(okKey, okVars(data.hearing));
    renderHearings();
    await refresh();
    focusHeading($("#hp-title"));
  } catch (err) {
    actionsError(err);
  }
}

async function submitReschedule(ev) {
  ev.preventDefault();
  const when = $("#r-when").value;
  const date = when ? new Date(when) : null;
  if (!date || Number.isNaN(date.getTime())) {
    actionsError("console.need_when");
    $("#r-when").focus();
    return;
  }
  await changeHearing("PATCH", { scheduled_at: date.toISOString() }, "console.rescheduled_ok",
    (x) => ({ time: fmtDateTime(x.scheduled_at) }));
}

async function submitAdd(ev) {
  ev.preventDefault();
  actionsError(null);
  const name = $("#a-name").value.trim();
  if (!name) {
    actionsError("console.need_name_one");
    $("#a-name").focus();
    return;
  }
  const x = ui.current.hearing;
  try {
    const language = $("#a-lang").value;
    const data = await api("POST", `/api/v1/hearings/${encodeURIComponent(x.id)}/participants`,
      { name, role: $("#a-role").value, ...(language ? { language } : {}) });
    ui.links.set(`${x.id}/${data.participant_id}`, data.link);
    ui.current = { ...ui.current, hearing: data.hearing };
    $("#a-name").value = "";
    setStatus("console.added_ok", { name });
    await refresh();
    focusById(`copy-${data.participant_id}`);
  } catch (err) {
    actionsError(err);
  }
}

function renderActions() {
  const x = ui.current.hearing;
  const cancelled = x.status === "cancelled";
  const over = ui.current.state && ui.current.state.phase === "adjourned";
  $("#hp-actions").hidden = cancelled || over;
  $("#hp-close").hidden = over;
  $("#hp-reschedule").hidden = over;
  $("#add-form").hidden = over;
  const select = $("#a-role");
  const chosen = select.value || "party";
  clear(select);
  for (const r of Object.keys(ui.me?.roles || {})) {
    select.append(h("option", { value: r, selected: r === chosen }, roleName(r)));
  }
  const lang = $("#a-lang");
  const language = lang.value;
  clear(lang);
  lang.append(...languageOptions(language));
}

function renderHearing() {
  if (!ui.current) return;
  const x = ui.current.hearing;
  const st = ui.current.state;
  $("#hp-title").textContent = `${x.case_number} · ${x.title}`;
  const status = $("#hp-status");
  // a hearing that was held (adjourned or closed by the clerk) no longer reads "Scheduled"
  const held = x.status === "scheduled" && st && st.phase === "adjourned";
  status.textContent = held ? t("phase.adjourned") : t(`status.${x.status}`);
  status.dataset.status = held ? "adjourned" : x.status;
  status.className = `badge ${x.status === "cancelled" ? "badge-warn" : "badge-neutral"}`;
  $("#hp-case").textContent = x.case_number;
  $("#hp-kind").textContent = kindName(x.kind);
  $("#hp-when").textContent = fmtDateTime(x.scheduled_at);
  $("#hp-minutes").textContent = String(x.duration_minutes);
  $("#hp-phase").textContent = st
    ? [t(`phase.${st.phase}`), st.locked ? t("room.locked") : null,
      st.recording !== "off" ? t(`rec.${st.recording}`) : null].filter(Boolean).join(" · ")
    : t("console.not_opened");
  $("#hp-created").textContent = `${x.created_by || "—"} · ${fmtDateTime(x.created_at, "short")}`;
  renderActions();
  renderService();
  renderEvents();
  renderHearingRecord();
  if (ui.serving) ui.serving.render();
}

/** The hearing's case record, asked for when the hearing opens and when its phase moves on
 * (not on every refresh: each request is an audited access). */
async function loadHearingRecord() {
  if (!ui.current) return;
  const id = ui.current.hearing.id;
  try {
    const data = await api("GET", `/api/v1/recordings?hearing_id=${encodeURIComponent(id)}`);
    if (!ui.current || ui.current.hearing.id !== id) return;
    ui.hearingRecord = (data.recordings || [])[0] || null;
  } catch (err) {
    if (err.status === 401) return signOut();
    ui.hearingRecord = { error: err };
  }
  renderHearingRecord();
}

function renderHearingRecord() {
  const text = $("#hp-record-text");
  const badge = $("#hp-record-badge");
  const open = $("#hp-open-record");
  const r = ui.hearingRecord;
  open.hidden = !r || Boolean(r.error);
  badge.hidden = !r || Boolean(r.error);
  if (r === undefined) {
    text.textContent = "";
    return;
  }
  if (r === null) {
    text.textContent = t("console.recordings_text");
    return;
  }
  if (r.error) {
    text.textContent = errorText(r.error);
    return;
  }
  badge.textContent = r.sealed ? t("recs.sealed") : t("recs.open_record_state");
  badge.className = `badge ${r.sealed ? "status-joined" : "badge-warn"}`;
  badge.dataset.sealed = r.sealed ? "true" : "false";
  text.textContent = t("recs.files_n", { media: r.media_files, files: r.files })
    + (r.started_at ? ` · ${t("recs.recorded_at", { time: fmtDateTime(r.started_at, "short") })}` : "");
}

async function openRecords(hearingId) {
  setStatus(null);
  showDetail("records");
  renderHearings();
  await ui.records.open(hearingId);
}

async function refresh() {
  if (!ui.current) return;
  const id = ui.current.hearing.id;
  try {
    const [service, events, detail] = await Promise.all([
      api("GET", `/api/v1/hearings/${encodeURIComponent(id)}/service`),
      api("GET", `/api/v1/hearings/${encodeURIComponent(id)}/events`),
      api("GET", `/api/v1/hearings/${encodeURIComponent(id)}`),
    ]);
    if (!ui.current || ui.current.hearing.id !== id) return;
    ui.service = service.links || [];
    ui.events = events.events || [];
    const before = ui.current.state ? `${ui.current.state.phase}/${ui.current.state.recording}` : "";
    ui.current = { hearing: detail.hearing, state: detail.state };
    const after = detail.state ? `${detail.state.phase}/${detail.state.recording}` : "";
    if (ui.hearingRecord === undefined || before !== after) loadHearingRecord();
    ui.serviceAt = Date.now();
    ui.serving.refresh();
  } catch (err) {
    if (err.status === 401) return signOut();
    setStatus(() => errorText(err), {}, "error");
    return;
  }
  renderHearing();
}

function startRefresh() {
  stopRefresh();
  ui.refreshTimer = setInterval(() => {
    if (document.visibilityState === "visible" && !ui.reissuing) refresh();
  }, REFRESH_MS);
}

function stopRefresh() {
  if (ui.refreshTimer) clearInterval(ui.refreshTimer);
  ui.refreshTimer = null;
}

function nameOf(pid) {
  if (!pid) return "";
  const p = ui.current && ui.current.hearing.participants.find((x) => x.id === pid);
  return p ? p.name : pid;
}

function timeCell(epoch, extra) {
  if (!epoch) return h("td", { class: "muted" }, "—");
  return h("td", {}, fmtDateTime(epoch * 1000, "short"), extra ? h("div", { class: "hint" }, extra) : null);
}

function renderService() {
  const body = $("#service-body");
  const active = document.activeElement && document.activeElement.id;
  clear(body);
  const x = ui.current.hearing;
  for (const p of x.participants) {
    const links = ui.service.filter((l) => l.participant_id === p.id)
      .sort((a, b) => b.issued_at - a.issued_at);
    const latest = links[0];
    const earlier = links.length - 1;
    const status = latest ? latest.status : "none";
    const url = ui.links.get(`${x.id}/${p.id}`);
    const linkCell = h("td", { class: "link-cell" });
    if (url && latest && !latest.revoked && x.status !== "cancelled") {
      const field = h("input", {
        type: "text", readonly: true, value: url, class: "link-field", id: `link-${p.id}`,
        "aria-label": t("console.link_aria", { name: p.name }),
        on: { focus: (e) => e.target.select() },
      });
      const copy = h("button", {
        type: "button", class: "btn btn-small", id: `copy-${p.id}`,
        "aria-label": t("console.copy_aria", { name: p.name }),
        on: {
          click: async () => {
            const ok = await copyText(url, field);
            copy.textContent = ok ? t("console.copied") : t("console.copy_failed");
            setTimeout(() => { copy.textContent = t("console.copy"); }, 2000);
          },
        },
      }, t("console.copy"));
      linkCell.append(h("div", { class: "link-box" }, field, copy));
    } else if (latest) {
      linkCell.append(h("p", { class: "hint" }, t("console.link_hidden")));
    }
    if (ui.reissuing === p.id) {
      linkCell.append(h("div", { class: "confirm" },
        h("p", {}, t("console.reissue_confirm", { name: p.name })),
        h("div", { class: "btn-row" },
          h("button", {
            type: "button", class: "btn btn-small btn-primary", id: `reissue-yes-${p.id}`,
            on: { click: () => reissue(p.id) },
          }, t("console.reissue_yes")),
          h("button", {
            type: "button", class: "btn btn-small btn-quiet", id: `reissue-no-${p.id}`,
            on: { click: () => { ui.reissuing = null; renderService(); focusById(`reissue-${p.id}`); } },
          }, t("common.cancel")))));
    } else if (x.status !== "cancelled") {
      linkCell.append(h("button", {
        type: "button", class: "btn btn-small btn-quiet", id: `reissue-${p.id}`,
        "aria-label": t("console.reissue_aria", { name: p.name }),
        on: { click: () => { ui.reissuing = p.id; renderService(); focusById(`reissue-yes-${p.id}`); } },
      }, t("console.reissue")));
    }
    const opened = latest && latest.opened_at ? latest.opened_from : null;
    body.append(h("tr", { dataset: { participantId: p.id, status } },
      h("th", { scope: "row" },
        h("span", { class: "person-name" }, p.name),
        h("span", { class: "person-role" }, roleName(p.role)),
        p.language ? h("span", { class: "person-lang", lang: p.language, dataset: { language: p.language } },
          languageName(p.language)) : null),
      h("td", {},
        h("span", { class: `badge status-${status}`, dataset: { status } }, t(`service.${status}`)),
        earlier > 0 ? h("div", { class: "hint" }, t("console.earlier_links", { n: earlier })) : null),
      timeCell(latest && latest.issued_at, latest ? t("console.by", { who: latest.issued_by }) : null),
      timeCell(latest && latest.opened_at, opened ? t("console.from", { address: opened }) : null),
      timeCell(latest && latest.joined_at),
      linkCell));
  }
  if (active) focusById(active);
  $("#service-updated").textContent = ui.serviceAt
    ? t("console.updated_at", { time: fmtDateTime(ui.serviceAt, "time") }) : "";
}

function focusById(id) {
  const el = document.getElementById(id);
  if (el) el.focus();
}

async function reissue(pid) {
  const x = ui.current.hearing;
  try {
    const data = await api("POST", `/api/v1/hearings/${encodeURIComponent(x.id)}/participants/${encodeURIComponent(pid)}/link`);
    ui.links.set(`${x.id}/${pid}`, data.link);
    ui.reissuing = null;
    setStatus("console.reissued_ok", { name: nameOf(pid) });
    await refresh();
    focusById(`copy-${pid}`);
  } catch (err) {
    if (err.status === 401) return signOut();
    ui.reissuing = null;
    setStatus(() => errorText(err), {}, "error");
    renderService();
  }
}

const DETAIL_FIELDS = ["reason", "kind", "state", "role", "source", "address", "from", "to",
  "name", "seconds_in_previous", "case_number", "scheduled_at", "code", "detail", "sha256"];

function renderEvents() {
  const body = $("#events-body");
  clear(body);
  const events = ui.events.slice().reverse(); // newest first
  $("#events-empty").hidden = events.length > 0;
  for (const e of events) {
    const details = [];
    for (const key of DETAIL_FIELDS) {
      if (e[key] === undefined || e[key] === null || e[key] === "") continue;
      let value = e[key];
      if (key === "kind" && (value === "audio" || value === "video")) value = t(`media.${value}`);
      else if (key === "role") value = roleName(value);
      else if (key === "source" && hasKey(`source.${value}`)) value = t(`source.${value}`);
      else if (key === "state" && hasKey(`presence.${value}`)) value = t(`presence.${value}`);
      else if (key === "scheduled_at" || ((key === "from" || key === "to") && /^\d{4}-\d\d-\d\dT/.test(String(value)))) {
        value = fmtDateTime(value, "short");
      } else if ((key === "from" || key === "to") && value === "main") value = t("caucus.main");
      else if (e.type === "closed" && key === "from" && hasKey(`phase.${value}`)) value = t(`phase.${value}`);
      else if (key === "sha256") value = `${String(value).slice(0, 12)}…`;
      details.push(`${t(`ev.field.${key}`)}: ${value}`);
    }
    const label = hasKey(`ev.${e.type}`) ? t(`ev.${e.type}`) : e.type;
    body.append(h("tr", { dataset: { type: e.type } },
      h("td", { class: "nowrap" }, fmtDateTime(e.ts ? e.ts * 1000 : e.at, "seconds")),
      h("td", {}, label),
      h("td", {}, nameOf(e.actor) || "—"),
      h("td", {}, nameOf(e.subject) || "—"),
      h("td", { class: "details" }, details.join(" · "))));
  }
}

// ---- start -----------------------------------------------------------------------------------

function main() {
  initI18n($("#lang-select"));
  onLanguageChange(() => {
    renderWho();
    renderHearings();
    renderStatus();
    renumberRows();
    renderTimeZone();
    if (ui.current) renderHearing();
    ui.records.rerender();
  });
  $("#signin-form").addEventListener("submit", signIn);
  $("#signout-btn").addEventListener("click", signOut);
  $("#new-hearing-btn").addEventListener("click", openSchedule);
  $("#schedule-cancel").addEventListener("click", () => showDetail("empty"));
  $("#schedule-form").addEventListener("submit", submitSchedule);
  $("#add-participant").addEventListener("click", () => {
    const row = participantRow("", "party");
    $("#participant-rows").append(row);
    renumberRows();
    row.querySelector(".p-name").focus();
  });
  $("#hearing-filter").addEventListener("input", renderHearings);
  $("#service-refresh").addEventListener("click", refresh);
  ui.serving = new Serving({
    hearing: () => (ui.current ? ui.current.hearing : null),
    status: setStatus,
    failed: (err) => {
      if (err && err.status === 401) {
        signOut();
        return true;
      }
      return false;
    },
  });
  $("#links-copy-all").addEventListener("click", copyAllLinks);
  $("#links-print").addEventListener("click", printLinks);
  $("#hp-reschedule").addEventListener("click", () => showAction("reschedule"));
  $("#reschedule-form").addEventListener("submit", submitReschedule);
  $("#reschedule-no").addEventListener("click", () => { showAction(null); $("#hp-reschedule").focus(); });
  $("#hp-cancel").addEventListener("click", () => showAction("cancel"));
  $("#cancel-no").addEventListener("click", () => { showAction(null); $("#hp-cancel").focus(); });
  $("#cancel-yes").addEventListener("click", () => changeHearing("DELETE", undefined,
    "console.cancelled_ok", () => ({})));
  $("#add-form").addEventListener("submit", submitAdd);
  $("#hp-close").addEventListener("click", () => showAction("close"));
  $("#close-no").addEventListener("click", () => { showAction(null); $("#hp-close").focus(); });
  $("#close-yes").addEventListener("click", () => changeHearing("POST", undefined,
    "console.closed_ok", () => ({}), "/close"));
  ui.records = new Records({
    hearings: () => ui.hearings,
    failed: (err) => {
      if (err && err.status === 401) {
        signOut();
        return true;
      }
      return false;
    },
  });
  $("#recordings-btn").addEventListener("click", () => openRecords());
  ui.reception = new ReceptionDesk({
    status: setStatus,
    failed: (err) => {
      if (err && err.status === 401) {
        signOut();
        return true;
      }
      return false;
    },
  });
  $("#reception-btn").addEventListener("click", () => {
    setStatus(null);
    showDetail("reception");
    $("#rcp-heading").focus();
  });
  $("#hp-open-record").addEventListener("click", () => {
    if (ui.current) openRecords(ui.current.hearing.id);
  });
  start();
}

main();
