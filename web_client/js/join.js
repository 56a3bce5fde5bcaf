// The join page: link check -> device check -> connect -> lobby -> hearing room -> end.
// Protocol: signaling/namespace.py (socket.io namespace /hearing, acks {ok, ...}).

import { io } from "../vendor/socket.io.esm.min.js";
import { $, h, api, focusHeading } from "./dom.js";
import {
  initI18n, t, hasKey, errorText, roleName, kindName, fmtDateTime, fmtElapsed, onLanguageChange,
  preferLanguage, fmtUntil,
} from "./i18n.js";
import { can, byRoleThenName, setCapabilities } from "./roles.js";
import { DeviceCheck } from "./devices.js";
import { MediaLink, emitAck } from "./media.js";
import { Room } from "./room.js";

const SCREENS = ["loading", "ended", "prejoin", "connecting", "lobby", "room"];

/** The page's shared state (also read by room.js and moderation.js). */
const app = {
  token: "",
  info: null, // POST /api/v1/join
  court: null, // GET /api/v1/court: {name, contact, default_language}, for every page
  socket: null,
  you: null, // my presence entry
  state: null, // public state of the hearing
  presence: [],
  iceServers: [],
  media: null,
  devices: null,
  room: null,
  local: { audio: { muted: false, forced: false }, video: { muted: false, forced: false } },
  screenTrack: null,
  /** the interpreter's second microphone track (the interpretation channel) */
  interpretationTrack: null,
  screen: "loading",
  connectedOnce: false,
  inRoom: false,
  over: false,
  moving: false, // the node is draining: reconnecting to whichever node takes the hearing
  redirects: 0, // node.redirect hops since the last successful connection
  nodeUrl: "", // "" = this page's server, else the node we were sent to
  ending: null,
  lobbySince: 0,
  lobbyTimer: null,
  offline: false, // the server is out of reach: the badges say so
  mediaRetries: 0, // media reconnect attempts since the last connected media
  mediaRetryTimer: null,
  mediaDisconnectedTimer: null,
  rejoinGrace: 30, // seconds a dropped participant keeps their place (from the welcome)
  awaySince: new Map(), // participant id -> when this page first saw them disconnected
  /** "here" | "reconnecting" | "gone" (disconnected past the rejoin grace). */
  away(p) {
    if (p.connected !== false) return "here";
    const since = this.awaySince.get(p.participant_id);
    return since !== undefined && Date.now() - since > this.rejoinGrace * 1000 ? "gone" : "reconnecting";
  },
  banner: null,
  emit(event, data) {
    if (!app.socket || !app.socket.connected) {
      return Promise.resolve({ ok: false, error: { code: "connection.lost", message: "not connected" } });
    }
    return emitAck(app.socket, event, data);
  },
};
window.hearingApp = app; // handy when debugging; holds no secret the page does not already have

function showScreen(name, focusEl) {
  app.screen = name;
  for (const s of SCREENS) $(`#screen-${s}`).hidden = s !== name;
  document.body.dataset.screen = name;
  if (focusEl) focusHeading(focusEl);
}

// ---- banner ------------------------------------------------------------------------------

function showBanner(key, tone = "warn") {
  app.banner = { key, tone };
  renderBanner();
}

function hideBanner() {
  app.banner = null;
  renderBanner();
}

function renderBanner() {
  const el = $("#banner");
  if (!app.banner) {
    el.hidden = true;
    el.textContent = "";
    delete el.dataset.kind;
    return;
  }
  el.hidden = false;
  el.dataset.tone = app.banner.tone;
  el.dataset.kind = app.banner.key;
  el.textContent = t(app.banner.key);
}

// ---- ending screens --------------------------------------------------------------------

const ENDINGS = {
  adjourned: { tone: "ok", title: "end.adjourned_title", text: "end.adjourned_text" },
  over: { tone: "ok", title: "end.adjourned_title", text: "end.over_text" },
  left: { tone: "ok", title: "end.left_title", text: "end.left_text", retry: "end.enter_again" },
  removed: { tone: "warn", title: "end.removed_title", text: "end.removed_text" },
  denied: { tone: "warn", title: "end.denied_title", text: "end.denied_text" },
  replaced: { tone: "info", title: "end.replaced_title", text: "end.replaced_text", retry: "end.use_here" },
  closed: { tone: "error", title: "end.closed_title", text: "end.closed_text", retry: "end.try_again" },
  media: { tone: "error", title: "end.media_title", retry: "end.media_retry" },
  refused: { tone: "error", title: "end.refused_title" },
};

const RETRYABLE = new Set(["network.unreachable", "rate.limited", "ack.timeout", "connection.refused",
  "error.internal", "service.unavailable", "http.502", "http.503", "http.504"]);

function end(kind, info = {}) {
  const final = kind !== "media";
  if (final) {
    if (app.over) return;
    app.over = true;
    teardown();
  } else if (app.media) {
    app.media.close();
  }
  app.ending = { kind, info };
  document.body.dataset.ended = kind;
  renderEnded();
  showScreen("ended", $("#ended-title"));
}

function renderEnded() {
  if (!app.ending) return;
  const { kind, info } = app.ending;
  const spec = ENDINGS[kind] || ENDINGS.refused;
  const card = $("#ended-card");
  card.dataset.tone = spec.tone;
  card.dataset.kind = kind;
  if (info.code) card.dataset.code = info.code;
  let title = t(spec.title);
  if (kind === "refused" && info.code && hasKey(`end.title.${info.code}`)) title = t(`end.title.${info.code}`);
  $("#ended-title").textContent = title;
  const caseLine = $("#ended-case");
  caseLine.hidden = !app.info;
  if (app.info) caseLine.textContent = `${app.info.hearing.case_number} · ${app.info.hearing.title}`;
  $("#ended-text").textContent = spec.text ? t(spec.text) : errorText(info);
  renderContact();
  const detail = $("#ended-detail");
  if (info.reason) {
    detail.hidden = false;
    detail.textContent = t("end.reason", { reason: info.reason });
  } else if (kind === "refused" && info.code === "hearing.locked") {
    detail.hidden = false;
    detail.textContent = t("end.locked_hint");
  } else {
    detail.hidden = true;
  }
  const retry = $("#ended-retry");
  let retryKey = spec.retry;
  if (kind === "refused" && RETRYABLE.has(info.code)) retryKey = "end.try_again";
  retry.hidden = !retryKey;
  if (retryKey) retry.textContent = t(retryKey);
}

function onRetry() {
  if (!app.ending) return;
  if (app.ending.kind === "media") {
    app.ending = null;
    delete document.body.dataset.ended;
    showScreen("room", $("#room-title"));
    startMedia();
    return;
  }
  location.reload();
}

function teardown() {
  stopLobbyTimer();
  hideBanner();
  if (app.media) app.media.close();
  if (app.interpretationTrack) {
    app.interpretationTrack.stop();
    app.interpretationTrack = null;
  }
  if (app.screenTrack) {
    app.screenTrack.stop();
    app.screenTrack = null;
  }
  if (app.devices) app.devices.release();
  if (app.socket) {
    const socket = app.socket;
    socket.off();
    socket.io.off();
    socket.disconnect();
  }
  for (const audio of document.querySelectorAll("#audio-sink audio")) audio.srcObject = null;
  for (const video of document.querySelectorAll("video")) video.srcObject = null;
}

/** A connection refusal's {code, message} (err.data from the server), or null for a network error. */
function refusal(err) {
  const data = err && err.data;
  if (data && typeof data === "object" && data.code) return { ...data, code: String(data.code), message: data.message || "" };
  const msg = String((err && err.message) || "");
  try {
    const parsed = JSON.parse(msg);
    if (parsed && parsed.code) return parsed;
  } catch { /* not JSON */ }
  // a server that sent its error object as the message text, Python style
  const code = msg.match(/'code':\s*'([^']+)'/);
  if (code) {
    const text = msg.match(/'message':\s*(['"])(.*?)\1\s*[,}]/);
    const url = msg.match(/'url':\s*'([^']+)'/);
    return { code: code[1], message: text ? text[2] : "", ...(url ? { url: url[1] } : {}) };
  }
  return null;
}

/** The court's name and contact line under every refusal and ending (settings). */
function renderContact() {
  const el = $("#ended-contact");
  const court = app.court;
  el.hidden = !court || !court.name;
  if (!court || !court.name) return;
  if (court.contact) {
    // the contact on a line of its own, a telephone number or an address never split
    el.replaceChildren(t("end.contact", { court: court.name }), h("span", { class: "contact-line" },
      ...String(court.contact).split(/,\s*/).flatMap((part, i) => [i ? ", " : "",
        h("span", { class: "contact-part" }, part)])));
  } else {
    el.textContent = t("end.contact_court", { court: court.name });
  }
  const brand = $("#court-name");
  brand.removeAttribute("data-i18n");
  brand.textContent = court.name;
}

// ---- before entering --------------------------------------------------------------------

function renderInfo() {
  const i = app.info;
  if (!i) return;
  const court = $("#court-name");
  court.removeAttribute("data-i18n");
  court.textContent = i.court;
  $("#info-court").textContent = i.court;
  $("#info-case").textContent = i.hearing.case_number;
  $("#info-title").textContent = i.hearing.title;
  $("#info-kind").textContent = kindName(i.hearing.kind);
  $("#info-when").textContent = fmtDateTime(i.hearing.scheduled_at);
  $("#info-name").textContent = i.you.name;
  $("#info-role").textContent = roleName(i.you.role);
  document.title = `${t("join.page_title")} · ${i.hearing.case_number}`;
  renderEnterHint();
}

function renderEnterHint() {
  const hint = $("#enter-hint");
  const btn = $("#enter-btn");
  if (!app.info) return;
  if (!can(app.info.you.role, "publish")) {
    btn.disabled = false;
    hint.hidden = true;
    return;
  }
  const state = app.devices ? app.devices.state : "idle";
  btn.disabled = state === "idle" || state === "checking";
  hint.hidden = !btn.disabled;
  hint.textContent = t("join.enter_hint_check");
}

// ---- connecting ---------------------------------------------------------------------------

function connect() {
  $("#enter-btn").disabled = true;
  showScreen("connecting");
  $("#connecting-text").textContent = t("join.connecting");
  if (app.devices) app.devices.stopMeter();
  openSocket("");
}

/**
 * Open the socket.io connection to `/hearing` on this page's server (`base` empty) or on
 * another node (`base` = its URL, after a node.redirect). The same token, the same page.
 */
function openSocket(base) {
  if (app.socket) {
    const old = app.socket;
    old.off();
    old.io.off();
    old.disconnect();
  }
  const options = {
    auth: { token: app.token },
    reconnectionDelay: 500,
    reconnectionDelayMax: 4000,
    timeout: 10000,
  };
  if (base) {
    // another origin: a fresh manager, and WebSocket first (no cross-origin polling needed)
    options.forceNew = true;
    options.transports = ["websocket", "polling"];
  }
  const socket = io(`${base}/hearing`, options);
  app.socket = socket;
  app.nodeUrl = base;
  socket.on("connect", onConnect);
  socket.on("connect_error", onConnectError);
  socket.on("disconnect", onDisconnect);
  socket.on("state", onState);
  socket.on("admitted", (data) => {
    if (data && Array.isArray(data.ice_servers)) app.iceServers = data.ice_servers;
    // the state event may have opened the room already: its media link needs them too
    if (app.media) app.media.iceServers = app.iceServers;
    if (!app.inRoom && !app.over) enterRoom();
  });
  socket.on("sent_to_lobby", () => {
    // the court sent me back to the waiting room (a witness between questions); a lobby
    // member does not see themself in the presence list, so the event says it
    if (app.over || !app.you) return;
    app.you = { ...app.you, state: "lobby" };
    if (app.inRoom && app.room) {
      app.room.clearNotices();
      app.sentBack = true;
      showLobby();
    }
  });
  socket.on("screen.allowed", () => {
    if (app.room && app.inRoom) {
      app.room.notice("screen-control", { tone: "info", text: () => t("room.screen_allowed") });
    }
  });
  socket.on("screen.stopped", () => {
    if (!app.room || !app.inRoom) return;
    app.room.notice("screen-control", { tone: "warn", text: () => t("room.screen_stopped") });
    if (app.screenTrack) app.room.stopScreen();
  });
  socket.on("denied", (d) => end("denied", { reason: d && d.reason }));
  socket.on("removed", (d) => end("removed", { reason: d && d.reason }));
  socket.on("replaced", () => end("replaced"));
  socket.on("node.moving", onMoving);
  socket.on("muted", (d) => { if (d && d.forced && app.room) app.room.forceMuted(d.kind); });
  socket.on("unmuted", (d) => { if (d && app.room) app.room.muteLifted(d.kind); });
  socket.on("mute.request", (d) => { if (d && app.room) app.room.muteRequested(d.kind); });
  socket.on("recording.failed", (d) => {
    if (!app.room) return;
    const code = (d && d.code) || "recording.failed";
    app.room.notice("recording-failed", {
      tone: "error",
      text: () => t("room.recording_failed", { code }),
      actions: [{ label: () => t("common.dismiss"), run: () => app.room.dismiss("recording-failed") }],
    });
  });
  socket.on("minute", (d) => { if (app.room && app.room.desk) app.room.desk.minuteArrived(d); });
  socket.on("exhibit", (d) => { if (app.room && app.room.desk) app.room.desk.exhibitArrived(d); });
  socket.on("exhibit.shown", (d) => { if (app.room && app.room.desk && d) app.room.desk.show(d); });
  socket.on("reception.transferred", () => {
    if (!app.room) return;
    app.room.notice("reception-transferred", {
      tone: "info",
      text: () => t("room.reception_transferred"),
      actions: [{ label: () => t("common.dismiss"), run: () => app.room.dismiss("reception-transferred") }],
    });
  });
  socket.on("media.offer", (offer) => { if (app.media && app.inRoom) app.media.offer(offer); });
  socket.on("media.tracks", (d) => { if (app.media && d) app.media.updateTracks(d.tracks); });
  socket.on("media.held_back", (d) => {
    // a narrow link: some video is not sent to this page for now (audio always is)
    if (app.room && d && Array.isArray(d.held)) app.room.videoHeldBack(d.held);
  });
  socket.on("media.health", (d) => {
    // the court's view of everyone's media connection (moderators only)
    if (app.room && d && d.participants) app.room.mod.mediaHealth(d.participants);
  });
  socket.on("media.closed", (d) => {
    if (app.over || app.moving) return;
    // no media connection in this page yet: the notice is about an older window's connection
    // (the server addresses media.closed to the participant, not to the connection)
    if (!app.media || !app.media.pc) return;
    // signalling is up: the room stays on screen and the media connection is retried
    mediaLost();
  });
  return socket;
}

const MAX_REDIRECTS = 3;

/** The node we reached does not host the hearing: connect to the one that does. */
function redirect(info) {
  app.redirects += 1;
  let base = "";
  try {
    const url = new URL(String(info.url), location.href);
    base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  } catch {
    base = "";
  }
  if (!base || app.redirects > MAX_REDIRECTS) {
    end("refused", { code: "node.redirect_failed", message: String(info.message || "") });
    return;
  }
  if (base === location.origin) base = "";
  if (app.connectedOnce) showBanner("banner.moving", "info");
  openSocket(base);
}

/** The node is draining: it says so, then closes the connection. Come back through the front door. */
function onMoving() {
  if (app.over) return;
  app.moving = true;
  if (app.media) app.media.close();
  showBanner("banner.moving", "info");
  if (app.room && app.inRoom) app.room.render();
}

function reconnectAfterMove() {
  const socket = app.socket;
  setTimeout(() => {
    if (app.over || socket !== app.socket) return;
    // the page's own origin routes us to whichever node hosts the hearing now
    app.redirects = 0;
    openSocket("");
  }, 300 + Math.floor(Math.random() * 700));
}

async function onConnect() {
  const socket = app.socket;
  const again = app.connectedOnce;
  app.connectedOnce = true;
  app.redirects = 0;
  const welcome = await emitAck(socket, "hello", {});
  if (app.over || socket !== app.socket) return;
  if (!welcome.ok) {
    end("refused", welcome.error);
    return;
  }
  if (again || app.moving) hideBanner();
  app.moving = false;
  app.offline = false;
  setCapabilities(welcome.roles);
  app.you = welcome.you;
  app.state = welcome.state;
  app.presence = welcome.presence || [];
  if (typeof welcome.rejoin_grace === "number") app.rejoinGrace = welcome.rejoin_grace;
  trackAway();
  app.iceServers = welcome.ice_servers || [];
  if (app.state.phase === "adjourned") {
    end("adjourned");
    return;
  }
  if (app.you.state === "admitted") await enterRoom(!again);
  else showLobby();
}

/** The server cannot be reached: the badges stop claiming a state nobody can confirm. */
function setOffline(offline) {
  if (app.offline === offline) return;
  app.offline = offline;
  if (app.room && app.inRoom) app.room.render();
}

/** The media connection was lost while signalling stays: retry with backoff, no click. */
function mediaLost() {
  if (app.over || app.moving || !app.inRoom || !app.room) return;
  if (app.media) app.media.close();
  app.room.notice("media-problem", { tone: "warn", text: () => t("room.media_reconnecting") });
  app.room.render();
  scheduleMediaRetry();
}

const MEDIA_RETRY_MAX_MS = 8000;
const MEDIA_DISCONNECTED_MS = 4000;

function scheduleMediaRetry() {
  if (app.mediaRetryTimer) return;
  const attempt = app.mediaRetries || 0;
  app.mediaRetries = attempt + 1;
  const delay = Math.min(MEDIA_RETRY_MAX_MS, 500 * 2 ** attempt) + Math.floor(Math.random() * 250);
  app.mediaRetryTimer = setTimeout(async () => {
    app.mediaRetryTimer = null;
    if (app.over || app.moving || !app.inRoom || !app.socket || !app.socket.connected) return;
    if (app.media && app.media.connectionState === "connected") return;
    await startMedia();
  }, delay);
}

function onConnectError(err) {
  if (app.over) return;
  if (app.connectedOnce) setOffline(true);
  const socket = app.socket;
  const refused = refusal(err);
  if (refused && refused.code === "node.redirect" && refused.url) {
    redirect(refused);
    return;
  }
  if (socket && !socket.active) {
    // the server refused this connection: socket.io will not retry
    end("refused", refused || { code: "connection.refused", message: err && err.message });
    return;
  }
  showBanner(app.moving ? "banner.moving" : app.connectedOnce ? "banner.reconnecting" : "banner.cannot_reach",
    app.moving ? "info" : "warn");
  if (!app.connectedOnce) $("#connecting-text").textContent = t("join.still_connecting");
}

function onDisconnect(reason) {
  if (app.over || reason === "io client disconnect") return;
  if (reason === "io server disconnect" && app.moving) {
    reconnectAfterMove();
    return;
  }
  if (reason === "io server disconnect") {
    // the server closed us without a reason we understood (events arrive before this)
    setTimeout(() => { if (!app.over) end("closed"); }, 300);
    return;
  }
  if (app.media) app.media.close();
  showBanner(app.moving ? "banner.moving" : "banner.reconnecting", app.moving ? "info" : "warn");
  app.offline = !app.moving;
  if (app.room && app.inRoom) app.room.render();
}

/**
 * When each participant was first seen disconnected (this page's clock): past the rejoin
 * grace they have lost their place, and the court's page says they left.
 */
function trackAway() {
  const now = Date.now();
  const seen = new Set();
  for (const p of app.presence) {
    seen.add(p.participant_id);
    if (p.connected) app.awaySince.delete(p.participant_id);
    else if (!app.awaySince.has(p.participant_id)) {
      app.awaySince.set(p.participant_id, now);
      // redraw when the grace runs out
      setTimeout(() => { if (app.room && app.inRoom && !app.over) app.room.render(); },
        app.rejoinGrace * 1000 + 100);
    }
  }
  for (const pid of Array.from(app.awaySince.keys())) if (!seen.has(pid)) app.awaySince.delete(pid);
}

function onState(data) {
  if (!data || app.over) return;
  app.state = data.state;
  app.presence = data.presence || [];
  trackAway();
  if (app.you) {
    const me = app.presence.find((p) => p.participant_id === app.you.participant_id);
    if (me) app.you = { ...app.you, ...me };
  }
  if (app.state.phase === "adjourned") {
    end("adjourned");
    return;
  }
  if (app.screen === "lobby") {
    if (app.you && app.you.state === "admitted") enterRoom();
    else renderLobby();
  } else if (app.inRoom && app.room) {
    app.room.render();
  }
}

// ---- the lobby ---------------------------------------------------------------------------

function showLobby() {
  if (app.inRoom) {
    // back in the lobby after a long drop
    app.inRoom = false;
    if (app.media) app.media.close();
  }
  if (app.screen !== "lobby") {
    app.lobbySince = Date.now();
    showScreen("lobby", $("#lobby-title"));
  }
  renderLobby();
  stopLobbyTimer();
  app.lobbyTimer = setInterval(renderElapsed, 1000);
}

function stopLobbyTimer() {
  if (app.lobbyTimer) clearInterval(app.lobbyTimer);
  app.lobbyTimer = null;
}

function renderElapsed() {
  $("#lobby-elapsed").textContent = fmtElapsed((Date.now() - app.lobbySince) / 1000);
}

function renderLobby() {
  if (!app.info || !app.state) return;
  const h = app.info.hearing;
  $("#lobby-case").textContent = `${h.case_number} · ${h.title}`;
  const st = app.state;
  $("#lobby-phase").textContent = app.sentBack ? t("lobby.sent_back")
    : st.locked ? t("lobby.locked") : t(`lobby.phase.${st.phase}`);
  const present = app.presence.filter((p) => p.state === "admitted").sort(byRoleThenName);
  $("#lobby-present").textContent = present.length
    ? present.map((p) => t("common.name_role", { name: p.name, role: roleName(p.role) })).join(", ")
    : t("lobby.nobody");
  $("#lobby-when").textContent = fmtDateTime(h.scheduled_at);
  // before the court opens the session, the page says when it is due
  const early = !app.sentBack && !st.locked && (st.phase === "scheduled" || st.phase === "open")
    && new Date(h.scheduled_at).getTime() > Date.now();
  const earlyEl = $("#lobby-early");
  earlyEl.hidden = !early;
  if (early) {
    earlyEl.textContent = t("lobby.early",
      { when: fmtDateTime(h.scheduled_at), until: fmtUntil(h.scheduled_at) });
  }
  renderElapsed();
  const video = $("#lobby-video");
  const hasVideo = Boolean(app.devices && app.devices.videoTrack);
  $("#lobby-preview-box").hidden = !hasVideo;
  if (hasVideo) app.devices.attachPreview(video);
}

// ---- the hearing room ------------------------------------------------------------------

async function enterRoom(first = true) {
  if (app.over) return;
  const firstTime = !app.inRoom;
  app.inRoom = true;
  app.sentBack = false;
  stopLobbyTimer();
  if (!app.media) {
    app.media = new MediaLink({
      socket: app.socket,
      iceServers: app.iceServers,
      localTrack: (source) => (source === "microphone" ? app.devices.audioTrack
        : source === "camera" ? app.devices.videoTrack
          : source === "screen" ? app.screenTrack
            : source === "interpretation" ? app.interpretationTrack : null),
      onTracks: () => app.room.render(),
      onConnectionState: (state) => {
        clearTimeout(app.mediaDisconnectedTimer);
        if (state === "connected") {
          app.mediaRetries = 0;
          app.room.dismiss("media-problem");
        } else if (state === "failed") mediaLost();
        else if (state === "disconnected") {
          // no packets for a few seconds: ICE may come back by itself; if it has not
          // after MEDIA_DISCONNECTED_MS, make a new connection rather than wait ~30 s
          // for the browser to call it failed
          const pc = app.media && app.media.pc;
          app.mediaDisconnectedTimer = setTimeout(() => {
            if (app.media && app.media.pc === pc && pc.connectionState === "disconnected") mediaLost();
          }, MEDIA_DISCONNECTED_MS);
        }
      },
      onProblem: (err) => app.room.error({ code: err.code || "media.error", message: err.message }),
    });
  }
  app.media.socket = app.socket;
  app.media.iceServers = app.iceServers;
  if (firstTime) {
    app.room.open();
    showScreen("room", $("#room-title"));
    if (first && $("#dc-start-muted").checked && app.devices.audioTrack && !app.local.audio.muted) {
      app.local.audio.muted = true;
      app.devices.audioTrack.enabled = false;
      app.emit("self_mute", { kind: "audio", muted: true });
    }
  }
  app.room.render();
  await startMedia();
}

async function startMedia() {
  const ack = await app.media.start(Boolean(app.mediaRetries));
  if (!ack.ok) {
    // a retry that failed is retried again; a first refusal is shown
    if (app.mediaRetries) scheduleMediaRetry();
    else app.room.error(ack.error);
    return;
  }
  if (app.screenTrack) {
    const again = await app.emit("media.publish", { source: "screen" });
    if (!again.ok) app.room.error(again.error);
  }
  if (app.interpretationTrack) {
    const again = await app.emit("media.publish",
      { source: "interpretation", language: $("#interp-lang").value });
    if (!again.ok) app.room.error(again.error);
  }
}

async function leave() {
  await app.emit("leave", {});
  end("left");
}

// ---- start ---------------------------------------------------------------------------------

async function main() {
  initI18n($("#lang-select"));
  onLanguageChange(() => {
    renderInfo();
    renderBanner();
    renderEnded();
    if (app.screen === "lobby") renderLobby();
    if (app.screen === "connecting") $("#connecting-text").textContent = t("join.connecting");
  });
  $("#ended-retry").addEventListener("click", onRetry);
  $("#lobby-leave").addEventListener("click", leave);
  app.room = new Room(app, { onLeave: leave });

  // a different link pasted into this tab changes only the fragment: start over with it
  window.addEventListener("hashchange", () => location.reload());
  app.token = decodeURIComponent(location.hash.replace(/^#/, "")).trim();
  // the court's name and contact line, also for a link it refuses
  const court = api("GET", "/api/v1/court").then((c) => {
    app.court = c;
    return c;
  }, () => null);
  if (!app.token) {
    const c = await court;
    preferLanguage("", c && c.default_language);
    end("refused", { code: "token.missing", message: "" });
    return;
  }
  try {
    app.info = await api("POST", "/api/v1/join", { token: app.token });
    setCapabilities(app.info.roles);
  } catch (err) {
    const c = await court;
    preferLanguage("", c && c.default_language);
    end("refused", { code: err.code, message: err.message });
    return;
  }
  app.court = { name: app.info.court, contact: app.info.court_contact || "",
    default_language: app.info.default_language };
  // the participant's language (the clerk's choice) > the browser's > the court's
  preferLanguage(app.info.you.language, app.info.default_language);
  renderInfo();
  if (app.info.hearing.phase === "adjourned") {
    end("over");
    return;
  }
  const publishes = can(app.info.you.role, "publish");
  $("#dc-observer").hidden = publishes;
  $("#dc-publisher").hidden = !publishes;
  if (publishes) {
    app.devices = new DeviceCheck({
      onChecked: () => renderEnterHint(),
      onTrackChange: (kind, track) => {
        if (track && app.local[kind].muted) track.enabled = false;
        if (app.media) app.media.setSource(kind === "audio" ? "microphone" : "camera", track);
        if (app.room) app.room.render();
      },
    });
  } else {
    app.devices = { audioTrack: null, videoTrack: null, state: "ok", stopMeter() {}, release() {}, attachPreview() {} };
  }
  $("#enter-btn").addEventListener("click", connect);
  showScreen("prejoin", $("#prejoin-title"));
  renderEnterHint();
}

main();
