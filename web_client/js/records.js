// The clerk console's case records: search, tracks with playback and download,
// attendance, verification, export, and the composite viewing copy.
//
// REST (staff cookie; every access is written to the audit log by the server):
//   GET  /api/v1/recordings?case_number=&date=YYYY-MM-DD&hearing_id=  -> {recordings: [...]}
//   GET  /api/v1/recordings/{id}/manifest     -> {entries: [{path, sha256, size, media, chain}], ...}
//   GET  /api/v1/recordings/{id}/attendance   -> {participants: [{participant_id, role, periods}]}
//   GET  /api/v1/recordings/{id}/files/{path} (?download=1)
//   GET  /api/v1/recordings/{id}/export       (zip)
//   POST /api/v1/recordings/{id}/verify       -> {ok, sealed, problems: [{code, path, detail}]}
//   POST /api/v1/recordings/{id}/composite    -> 202 {state, progress, error}
//   GET  /api/v1/recordings/{id}/composite    -> {state, progress, error}; ?file=1 -> the WebM

import { $, h, clear, api, focusHeading } from "./dom.js";
import { t, hasKey, errorText, roleName, fmtDateTime, fmtElapsed } from "./i18n.js";
import { RecordPlayer } from "./player.js";

const POLL_MS = 1000;
const enc = encodeURIComponent;

function recUrl(id, rest = "") {
  return `/api/v1/recordings/${enc(id)}${rest}`;
}

function fileUrl(id, path, download = false) {
  const parts = String(path).split("/").map(enc).join("/");
  return recUrl(id, `/files/${parts}${download ? "?download=1" : ""}`);
}

function fmtSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export class Records {
  /**
   * @param {object} hooks
   * @param {() => object[]} hooks.hearings  the hearings the console knows (for names and the picker)
   * @param {(err: Error) => boolean} hooks.failed  handles 401 (sign out); true when handled
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.results = [];
    this.searched = false;
    this.current = null; // {item, manifest, attendance, hearing, verify, composite}
    this.playing = null; // path
    this.pollTimer = null;
    this.status = null;
    $("#rec-search").addEventListener("submit", (ev) => { ev.preventDefault(); this.search(); });
    $("#rec-search-clear").addEventListener("click", () => {
      $("#rec-search-case").value = "";
      $("#rec-search-date").value = "";
      $("#rec-search-hearing").value = "";
      this.search();
    });
    $("#rd-verify").addEventListener("click", () => this.verify());
    $("#rd-composite-start").addEventListener("click", () => this.startComposite());
    $("#rd-player-close").addEventListener("click", () => this.stopPlayer());
    this.player = new RecordPlayer(hooks);
    $("#rd-play-hearing").addEventListener("click", () => {
      if (this.current) this.player.open(this.current.item.hearing_id);
    });
  }

  // ---- the search ---------------------------------------------------------------------

  /** Show the panel; with a hearing id, open that hearing's record straight away. */
  async open(hearingId) {
    this.renderHearingPicker();
    if (hearingId) {
      $("#rec-search-case").value = "";
      $("#rec-search-date").value = "";
      $("#rec-search-hearing").value = hearingId;
      await this.search(false);
      await this.openRecord(hearingId);
    } else {
      this.closeRecord();
      focusHeading($("#records-heading"));
      await this.search(false);
    }
  }

  renderHearingPicker() {
    const select = $("#rec-search-hearing");
    const keep = select.value;
    clear(select);
    select.append(h("option", { value: "" }, t("recs.any_hearing")));
    const list = this.hooks.hearings().slice()
      .sort((a, b) => String(b.scheduled_at).localeCompare(String(a.scheduled_at)));
    for (const x of list) {
      select.append(h("option", { value: x.id }, `${x.case_number} · ${x.title} · ${fmtDateTime(x.scheduled_at, "short")}`));
    }
    select.value = keep && list.some((x) => x.id === keep) ? keep : "";
  }

  async search(focusResults = true) {
    const q = new URLSearchParams();
    const caseNo = $("#rec-search-case").value.trim();
    const date = $("#rec-search-date").value;
    const hid = $("#rec-search-hearing").value;
    if (caseNo) q.set("case_number", caseNo);
    if (date) q.set("date", date);
    if (hid) q.set("hearing_id", hid);
    $("#rec-search-submit").disabled = true;
    try {
      const data = await api("GET", `/api/v1/recordings${q.toString() ? `?${q}` : ""}`);
      this.results = data.recordings || [];
      this.searched = true;
      this.searchError = null;
    } catch (err) {
      if (this.hooks.failed(err)) return;
      this.results = [];
      this.searchError = err;
    } finally {
      $("#rec-search-submit").disabled = false;
    }
    this.renderResults();
    if (focusResults && this.results.length) {
      const first = $("#rec-results-body button");
      if (first) first.focus();
    }
  }

  renderResults() {
    const body = $("#rec-results-body");
    clear(body);
    const empty = $("#rec-results-empty");
    if (this.searchError) {
      empty.hidden = false;
      empty.textContent = errorText(this.searchError);
      empty.className = "form-error";
    } else {
      empty.className = "muted";
      empty.hidden = this.results.length > 0 || !this.searched;
      empty.textContent = t("recs.none_found");
    }
    $("#rec-results").hidden = this.results.length === 0;
    const items = this.results.slice()
      .sort((a, b) => String(b.started_at || b.scheduled_at || "").localeCompare(String(a.started_at || a.scheduled_at || "")));
    for (const r of items) {
      const selected = this.current && this.current.item.hearing_id === r.hearing_id;
      body.append(h("tr", { dataset: { hearingId: r.hearing_id }, class: selected ? "is-selected" : null },
        h("td", { class: "nowrap" }, h("strong", {}, r.case_number)),
        h("td", {}, r.title || "—"),
        h("td", { class: "nowrap" }, r.started_at ? fmtDateTime(r.started_at, "short")
          : r.scheduled_at ? fmtDateTime(r.scheduled_at, "short") : "—"),
        h("td", {}, this.sealedBadge(r.sealed)),
        h("td", { class: "nowrap" }, t("recs.files_n", { media: r.media_files, files: r.files })),
        h("td", {}, h("button", {
          type: "button", class: "btn btn-small", id: `rec-open-${r.hearing_id}`,
          "aria-label": t("recs.open_aria", { case: r.case_number }),
          on: { click: () => this.openRecord(r.hearing_id) },
        }, t("recs.open")))));
    }
  }

  sealedBadge(sealed) {
    return h("span", {
      class: `badge ${sealed ? "status-joined" : "badge-warn"}`, dataset: { sealed: sealed ? "true" : "false" },
    }, sealed ? t("recs.sealed") : t("recs.open_record_state"));
  }

  // ---- one record --------------------------------------------------------------------

  async openRecord(id) {
    this.player.close();
    this.stopPolling();
    this.stopPlayer();
    this.status = null;
    let item = this.results.find((r) => r.hearing_id === id);
    try {
      if (!item) {
        const found = await api("GET", `/api/v1/recordings?hearing_id=${enc(id)}`);
        item = (found.recordings || [])[0];
        if (!item) throw Object.assign(new Error("no record"), { code: "records.not_found" });
      }
      const [manifest, attendance, hearing] = await Promise.all([
        api("GET", recUrl(id, "/manifest")),
        api("GET", recUrl(id, "/attendance")).catch((err) => ({ error: err })),
        api("GET", `/api/v1/hearings/${enc(id)}`).catch(() => null),
      ]);
      this.current = { item, manifest, attendance, hearing: hearing && hearing.hearing, verify: null, composite: null };
    } catch (err) {
      if (this.hooks.failed(err)) return;
      this.current = null;
      this.renderRecord();
      this.showStatus(() => errorText(err), "error");
      return;
    }
    this.renderResults();
    this.renderRecord();
    focusHeading($("#rd-title"));
    // a composite may already exist (or be running) for this record
    try {
      const job = await api("GET", recUrl(id, "/composite"));
      if (this.current && this.current.item.hearing_id === id) this.onJob(job);
    } catch { /* none yet */ }
  }

  closeRecord() {
    this.player.close();
    this.stopPolling();
    this.stopPlayer();
    this.current = null;
    $("#record-detail").hidden = true;
  }

  showStatus(text, tone = "ok") {
    this.status = { text, tone };
    this.renderStatus();
  }

  renderStatus() {
    const el = $("#rd-status");
    if (!this.status || !this.current) {
      el.hidden = true;
      if (!this.current && this.status) {
        // an error opening a record shows under the search
        const empty = $("#rec-results-empty");
        empty.hidden = false;
        empty.className = "form-error";
        empty.textContent = this.status.text();
      }
      return;
    }
    el.hidden = false;
    el.className = `notice notice-${this.status.tone}`;
    el.textContent = this.status.text();
  }

  names() {
    const map = new Map();
    const c = this.current;
    if (c.hearing) for (const p of c.hearing.participants || []) map.set(p.id, p.name);
    for (const e of c.manifest.entries || []) {
      if (e.media && e.media.participant_id && e.media.participant_name) map.set(e.media.participant_id, e.media.participant_name);
    }
    return map;
  }

  renderRecord() {
    const c = this.current;
    $("#record-detail").hidden = !c;
    if (!c) {
      this.renderStatus();
      return;
    }
    const { item, manifest } = c;
    const id = item.hearing_id;
    const sealed = Boolean(manifest.sealed !== undefined ? manifest.sealed : item.sealed);
    $("#rd-title").textContent = `${item.case_number}${item.title ? ` · ${item.title}` : ""}`;
    const badge = $("#rd-sealed");
    badge.textContent = sealed ? t("recs.sealed") : t("recs.open_record_state");
    badge.className = `badge ${sealed ? "status-joined" : "badge-warn"}`;
    badge.dataset.sealed = sealed ? "true" : "false";
    $("#rd-case").textContent = item.case_number;
    $("#rd-when").textContent = item.scheduled_at ? fmtDateTime(item.scheduled_at) : "—";
    $("#rd-started").textContent = item.started_at ? fmtDateTime(item.started_at, "seconds") : "—";
    const entries = manifest.entries || [];
    const media = entries.filter((e) => e.media);
    $("#rd-files-count").textContent = t("recs.files_n", { media: media.length, files: entries.length });
    $("#rd-export").href = recUrl(id, "/export");
    $("#rd-export").setAttribute("download", `${item.case_number.replace(/[^\w.-]+/g, "_")}-record.zip`);
    $("#rd-composite-start").disabled = !sealed || (c.composite && c.composite.state === "running");
    $("#rd-composite-start").title = sealed ? "" : t("err.records.not_sealed");
    this.renderStatus();
    this.renderVerify();
    this.renderComposite();
    this.renderTracks();
    this.renderAttendance();
    this.renderFiles();
  }

  renderTracks() {
    const c = this.current;
    const id = c.item.hearing_id;
    const names = this.names();
    const body = $("#rd-tracks-body");
    clear(body);
    const media = (c.manifest.entries || []).filter((e) => e.media)
      .sort((a, b) => a.media.start - b.media.start || String(a.path).localeCompare(String(b.path)));
    $("#rd-tracks-empty").hidden = media.length > 0;
    $("#rd-tracks").hidden = media.length === 0;
    media.forEach((e, i) => {
      const m = e.media;
      const who = m.participant_name || names.get(m.participant_id) || m.participant_id;
      const kind = hasKey(`recs.kind.${m.kind}`) ? t(`recs.kind.${m.kind}`) : m.kind;
      const flags = [];
      if (m.recovered) flags.push(h("span", { class: "badge badge-warn", dataset: { flag: "recovered" } }, t("recs.recovered")));
      // "closed" is the normal end of a track; the other reasons are worth a word
      if (m.reason && m.reason !== "closed" && m.reason !== "recovered") {
        flags.push(h("span", { class: "hint", dataset: { reason: m.reason } },
          hasKey(`recs.reason.${m.reason}`) ? t(`recs.reason.${m.reason}`) : m.reason));
      }
      const playing = this.playing === e.path;
      body.append(h("tr", {
        dataset: { path: e.path, kind: m.kind, participantId: m.participant_id },
        class: playing ? "is-selected" : null,
      },
      h("th", { scope: "row" },
        h("span", { class: "person-name" }, who),
        h("span", { class: "person-role" }, roleName(m.role))),
      h("td", { title: e.path }, kind),
      h("td", { class: "nowrap mono" }, String(m.codec || "").toUpperCase()),
      h("td", { class: "nowrap" }, fmtDateTime(m.start * 1000, "time")),
      h("td", { class: "nowrap" }, fmtElapsed(m.duration), h("span", { class: "sr-only" }, ` (${Number(m.duration).toFixed(1)} s)`)),
      h("td", {}, flags.length ? flags : "—"),
      h("td", { class: "nowrap" }, h("div", { class: "btn-row" },
        h("button", {
          type: "button", class: `btn btn-small${playing ? " btn-primary" : ""}`, id: `rd-play-${i}`,
          dataset: { path: e.path },
          "aria-label": t("recs.play_aria", { name: who, kind }),
          on: { click: () => this.play(e, who, kind) },
        }, t("recs.play")),
        h("a", {
          class: "btn btn-small btn-quiet", id: `rd-download-${i}`, href: fileUrl(id, e.path, true), download: "",
          "aria-label": t("recs.download_aria", { file: e.path }),
        }, t("recs.download"))))));
    });
  }

  play(entry, who, kind) {
    const c = this.current;
    const video = $("#rd-player-video");
    const audio = $("#rd-player-audio");
    const isVideo = entry.media.kind === "video";
    const el = isVideo ? video : audio;
    const other = isVideo ? audio : video;
    other.pause();
    other.removeAttribute("src");
    other.load();
    other.hidden = true;
    el.hidden = false;
    el.src = fileUrl(c.item.hearing_id, entry.path);
    el.dataset.path = entry.path;
    $("#rd-player").hidden = false;
    $("#rd-player-title").textContent = t("recs.playing", {
      name: who, kind, start: fmtDateTime(entry.media.start * 1000, "seconds"),
    });
    this.playing = entry.path;
    el.play().catch(() => { /* the controls are there */ });
    this.renderTracks();
  }

  stopPlayer() {
    for (const el of [$("#rd-player-video"), $("#rd-player-audio")]) {
      el.pause();
      el.removeAttribute("src");
      el.load();
      el.hidden = true;
    }
    $("#rd-player").hidden = true;
    this.playing = null;
    if (this.current) this.renderTracks();
  }

  renderAttendance() {
    const c = this.current;
    const body = $("#rd-attendance-body");
    const empty = $("#rd-attendance-empty");
    clear(body);
    const att = c.attendance;
    if (!att || att.error) {
      $("#rd-attendance").hidden = true;
      empty.hidden = false;
      empty.textContent = att && att.error && att.error.code !== "records.not_sealed"
        ? errorText(att.error) : t("recs.att_not_sealed");
      return;
    }
    const people = att.participants || [];
    $("#rd-attendance").hidden = people.length === 0;
    empty.hidden = people.length > 0;
    empty.textContent = t("recs.att_none");
    const names = this.names();
    for (const p of people) {
      const periods = (p.periods || []).map((x) => {
        const end = hasKey(`recs.end.${x.end}`) ? t(`recs.end.${x.end}`) : x.end;
        return h("li", {}, t("recs.period", {
          from: fmtDateTime(x.from * 1000, "time"), to: fmtDateTime(x.to * 1000, "time"), end,
        }));
      });
      body.append(h("tr", { dataset: { participantId: p.participant_id } },
        h("th", { scope: "row" },
          h("span", { class: "person-name" }, names.get(p.participant_id) || p.participant_id),
          h("span", { class: "person-role" }, p.role ? roleName(p.role) : "")),
        h("td", {}, periods.length ? h("ul", { class: "periods" }, periods) : t("recs.att_never"))));
    }
  }

  renderFiles() {
    const c = this.current;
    const body = $("#rd-files-body");
    clear(body);
    for (const e of (c.manifest.entries || []).filter((x) => !x.media)) {
      body.append(h("tr", { dataset: { path: e.path } },
        h("td", { class: "mono" }, e.path),
        h("td", { class: "nowrap" }, fmtSize(e.size)),
        h("td", { class: "mono hint-cell", title: e.sha256 }, `${String(e.sha256).slice(0, 16)}…`),
        h("td", {}, h("a", {
          class: "btn btn-small btn-quiet", href: fileUrl(c.item.hearing_id, e.path, true), download: "",
          "aria-label": t("recs.download_aria", { file: e.path }),
        }, t("recs.download")))));
    }
  }

  // ---- verification ---------------------------------------------------------------------

  async verify() {
    const c = this.current;
    if (!c) return;
    const id = c.item.hearing_id;
    const btn = $("#rd-verify");
    btn.disabled = true;
    c.verify = { running: true };
    this.renderVerify();
    try {
      const report = await api("POST", recUrl(id, "/verify"));
      if (this.current !== c) return;
      c.verify = report;
    } catch (err) {
      if (this.hooks.failed(err)) return;
      c.verify = { error: err };
    } finally {
      btn.disabled = false;
    }
    this.renderVerify();
  }

  renderVerify() {
    const el = $("#rd-verify-result");
    const v = this.current && this.current.verify;
    clear(el);
    if (!v) {
      el.hidden = true;
      delete el.dataset.ok;
      return;
    }
    el.hidden = false;
    if (v.running) {
      el.className = "verify-result notice";
      el.dataset.ok = "pending";
      el.append(h("p", {}, t("recs.verifying")));
      return;
    }
    if (v.error) {
      el.className = "verify-result notice notice-error";
      el.dataset.ok = "error";
      el.append(h("p", {}, errorText(v.error)));
      return;
    }
    el.dataset.ok = v.ok ? "true" : "false";
    el.className = `verify-result notice ${v.ok ? "notice-ok" : "notice-error"}`;
    if (v.ok) {
      el.append(h("p", {}, v.sealed ? t("recs.verify_ok") : t("recs.verify_ok_open")));
      return;
    }
    el.append(h("p", {}, t("recs.verify_failed", { n: (v.problems || []).length })));
    el.append(h("ul", { class: "problems" }, (v.problems || []).map((p) => h("li", { dataset: { code: p.code } },
      h("code", {}, p.code), " ",
      p.path ? h("span", { class: "mono" }, p.path) : null,
      p.detail ? h("span", { class: "hint" }, ` — ${p.detail}`) : null))));
  }

  // ---- composite viewing copy ---------------------------------------------------------------

  async startComposite() {
    const c = this.current;
    if (!c) return;
    const id = c.item.hearing_id;
    $("#rd-composite-start").disabled = true;
    try {
      const job = await api("POST", recUrl(id, "/composite"));
      if (this.current !== c) return;
      this.onJob(job);
    } catch (err) {
      if (this.hooks.failed(err)) return;
      c.composite = { state: "failed", progress: 0, error: errorText(err) };
      this.renderComposite();
      $("#rd-composite-start").disabled = false;
    }
  }

  onJob(job) {
    const c = this.current;
    if (!c) return;
    const was = c.composite && c.composite.state;
    c.composite = job;
    this.renderComposite();
    $("#rd-composite-start").disabled = job.state === "running";
    if (job.state === "running") this.poll(c);
    else this.stopPolling();
    if (job.state === "done" && was !== "done") {
      const video = $("#rd-composite-video");
      video.src = `${recUrl(c.item.hearing_id, "/composite")}?file=1&t=${Date.now()}`;
      video.hidden = false;
    }
  }

  poll(c) {
    this.stopPolling();
    this.pollTimer = setTimeout(async () => {
      if (this.current !== c) return;
      try {
        const job = await api("GET", recUrl(c.item.hearing_id, "/composite"));
        if (this.current === c) this.onJob(job);
      } catch (err) {
        if (this.hooks.failed(err)) return;
        if (this.current === c) this.onJob({ state: "failed", progress: 0, error: errorText(err) });
      }
    }, POLL_MS);
  }

  stopPolling() {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  renderComposite() {
    const box = $("#rd-composite");
    const job = this.current && this.current.composite;
    if (!job) {
      box.hidden = true;
      const video = $("#rd-composite-video");
      video.pause();
      video.removeAttribute("src");
      video.hidden = true;
      return;
    }
    box.hidden = false;
    box.dataset.state = job.state;
    const pct = Math.round(Math.max(0, Math.min(1, Number(job.progress) || 0)) * 100);
    const bar = $("#rd-composite-bar");
    bar.hidden = job.state !== "running";
    bar.setAttribute("aria-valuenow", String(pct));
    $("#rd-composite-fill").dataset.pct = String(pct);
    // CSP allows no inline styles: the width is set through the CSSOM
    $("#rd-composite-fill").style.width = `${pct}%`;
    const text = $("#rd-composite-text");
    text.className = job.state === "failed" ? "form-error" : "";
    text.textContent = job.state === "running" ? t("recs.composite_running", { pct })
      : job.state === "done" ? t("recs.composite_done")
        : t("recs.composite_failed", { error: job.error || "" });
    $("#rd-composite-start").textContent = job.state === "done" || job.state === "failed"
      ? t("recs.composite_again") : t("recs.composite_start");
  }

  /** Re-render in the current language. */
  rerender() {
    this.renderHearingPicker();
    if (this.searched) this.renderResults();
    if (this.current) this.renderRecord();
  }
}
