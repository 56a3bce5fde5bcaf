// The public reception page: the desk's hours and topics, the visitor's details, the
// queue (place, estimated wait, leave) and, when taken, on to the call's join page.

import { $, api, clear, h } from "./dom.js";
import { errorText, fmtDateTime, initI18n, onLanguageChange, t } from "./i18n.js";

const POLL_MS = 1500;
const KEY = "hearing.reception";
let desk = null;
let me = JSON.parse(sessionStorage.getItem(KEY) || "null");
let last = null;
let timer = null;

function show(name) {
  document.body.dataset.screen = name;
  for (const s of ["loading", "closed", "form", "queue", "done"]) $(`#screen-${s}`).hidden = s !== name;
}

function renderDesk() {
  if (!desk) return;
  $("#closed-text").textContent = desk.opens_at
    ? t("rcp.opens_at", { time: fmtDateTime(desk.opens_at, "full") }) : t("rcp.no_hours");
  const topic = $("#r-topic");
  const chosen = topic.value;
  clear(topic);
  for (const name of desk.topics) topic.append(h("option", { value: name }, name));
  if (chosen) topic.value = chosen;
}

function renderQueue() {
  if (!last) return;
  $("#q-place").textContent = t("rcp.place", { n: last.place });
  $("#q-wait").textContent = t("rcp.wait", { min: Math.max(1, Math.round(last.estimated_wait / 60)) });
  $("#q-transferred").hidden = !last.transferred;
}

async function poll() {
  try {
    last = await api("POST", "/api/v1/reception/status", { visitor_id: me.visitor_id, secret: me.secret });
  } catch (err) {
    return finish(errorText(err));
  }
  if (last.state === "taken" && last.link) {
    sessionStorage.removeItem(KEY);
    location.assign(last.link);
    return;
  }
  if (last.state !== "waiting") return finish(t(`rcp.state.${last.state}`));
  renderQueue();
  show("queue");
  timer = setTimeout(poll, POLL_MS);
}

function finish(text) {
  if (timer) clearTimeout(timer);
  sessionStorage.removeItem(KEY);
  me = null;
  $("#done-text").textContent = text;
  show("done");
}

async function join(event) {
  event.preventDefault();
  const error = $("#join-error");
  error.hidden = true;
  $("#r-join").disabled = true;
  try {
    const body = { name: $("#r-name").value, topic: $("#r-topic").value };
    if ($("#r-case").value.trim()) body.case_number = $("#r-case").value;
    if ($("#r-contact").value.trim()) body.contact = $("#r-contact").value;
    const data = await api("POST", "/api/v1/reception/queue", body);
    me = { visitor_id: data.visitor_id, secret: data.secret };
    sessionStorage.setItem(KEY, JSON.stringify(me));
    last = data;
    renderQueue();
    show("queue");
    timer = setTimeout(poll, POLL_MS);
  } catch (err) {
    error.textContent = errorText(err);
    error.hidden = false;
  } finally {
    $("#r-join").disabled = false;
  }
}

async function leave() {
  if (timer) clearTimeout(timer);
  try {
    await api("POST", "/api/v1/reception/leave", { visitor_id: me.visitor_id, secret: me.secret });
  } catch {
    // gone already
  }
  finish(t("rcp.state.left"));
}

async function main() {
  initI18n($("#lang-select"));
  onLanguageChange(() => { renderDesk(); renderQueue(); });
  $("#join-form").addEventListener("submit", join);
  $("#q-leave").addEventListener("click", leave);
  if (me) return poll();
  try {
    desk = await api("GET", "/api/v1/reception");
  } catch (err) {
    return finish(errorText(err));
  }
  renderDesk();
  $("#r-recorded").hidden = !desk.recorded; // told before joining
  show(desk.open ? "form" : "closed");
}

main();
