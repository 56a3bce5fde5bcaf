// The device check: camera preview, microphone level meter, device pickers, clear messages.
// It owns the local camera and microphone tracks that the hearing room later sends.

import { $, h, clear } from "./dom.js";
import { t, onLanguageChange } from "./i18n.js";

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 25, max: 30 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** Map a getUserMedia error to a message key. */
function problemKey(err, kind) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return kind === "video" ? "dc.err_camera_denied" : kind === "audio" ? "dc.err_mic_denied" : "dc.err_denied";
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError") {
    return kind === "video" ? "dc.err_no_camera" : kind === "audio" ? "dc.err_no_mic" : "dc.err_no_devices";
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return kind === "video" ? "dc.err_camera_busy" : "dc.err_mic_busy";
  }
  if (name === "OverconstrainedError") return "dc.err_device_gone";
  return "dc.err_generic";
}

export class DeviceCheck {
  /**
   * @param {object} opts
   * @param {(kind: string, track: MediaStreamTrack|null) => void} opts.onTrackChange
   * @param {() => void} opts.onChecked  called when a check finished (whatever the result)
   */
  constructor({ onTrackChange, onChecked }) {
    this.onTrackChange = onTrackChange || (() => {});
    this.onChecked = onChecked || (() => {});
    this.audioTrack = null;
    this.videoTrack = null;
    this.checked = false;
    this.problems = []; // [{key, kind}]
    this.audioCtx = null;
    this.analyser = null;
    this.meterSource = null;
    this.meterRunning = false;
    this.el = {
      root: $("#device-check"),
      start: $("#dc-start"),
      video: $("#dc-video"),
      placeholder: $("#dc-video-placeholder"),
      camera: $("#dc-camera"),
      mic: $("#dc-mic"),
      meter: $("#dc-meter"),
      fill: $("#dc-meter-fill"),
      speaker: $("#dc-speaker"),
      messages: $("#dc-messages"),
    };
    this.el.start.addEventListener("click", () => this.check());
    this.el.camera.addEventListener("change", () => this.switchDevice("video", this.el.camera.value));
    this.el.mic.addEventListener("change", () => this.switchDevice("audio", this.el.mic.value));
    this.el.speaker.addEventListener("click", () => this.playTestSound());
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener("devicechange", () => this.listDevices());
    }
    onLanguageChange(() => this.renderMessages());
  }

  get state() {
    if (!this.checked) return "idle";
    if (this.audioTrack && this.videoTrack) return "ok";
    if (this.audioTrack || this.videoTrack) return "partial";
    return "failed";
  }

  /** Ask for the camera and the microphone (needs a user gesture for the audio meter). */
  async check() {
    this.el.start.disabled = true;
    this.started = true;
    this.el.root.dataset.state = "checking";
    this.problems = [];
    this.ensureAudioContext();
    if (!window.isSecureContext) {
      this.problems.push({ key: "dc.err_insecure" });
    } else if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.problems.push({ key: "dc.err_unsupported" });
    } else {
      this.stopTracks();
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO, video: VIDEO });
        this.audioTrack = stream.getAudioTracks()[0] || null;
        this.videoTrack = stream.getVideoTracks()[0] || null;
      } catch {
        // one of the two may still work (a refused camera must not cost the microphone):
        // try each device alone and say which one is blocked
        this.audioTrack = await this.open("audio");
        this.videoTrack = await this.open("video");
        if (!this.audioTrack && !this.videoTrack && this.problems.every((p) => p.key === "dc.err_camera_denied" || p.key === "dc.err_mic_denied")) {
          this.problems = [{ key: "dc.err_denied" }];
        }
      }
      if (!this.videoTrack && !this.problems.some((p) => p.kind === "video" || !p.kind)) {
        this.problems.push({ key: "dc.err_no_camera", kind: "video" });
      }
      if (!this.audioTrack && !this.problems.some((p) => p.kind === "audio" || !p.kind)) {
        this.problems.push({ key: "dc.err_no_mic", kind: "audio" });
      }
      this.watchTrack(this.audioTrack);
      this.watchTrack(this.videoTrack);
      await this.listDevices();
    }
    this.checked = true;
    this.showPreview();
    this.startMeter();
    this.renderMessages();
    const hadFocus = document.activeElement === this.el.start || document.activeElement === document.body;
    this.el.start.disabled = false;
    // the button was disabled during the check: give the focus back rather than to <body>
    if (hadFocus) this.el.start.focus();
    this.el.start.textContent = t("dc.again");
    this.el.start.classList.toggle("btn-primary", this.state !== "ok");
    this.el.start.classList.toggle("btn-quiet", this.state === "ok");
    this.el.start.dataset.i18n = "dc.again";
    this.el.root.dataset.state = this.state;
    this.onChecked(this.state);
  }

  async open(kind, deviceId) {
    const base = kind === "video" ? VIDEO : AUDIO;
    const constraints = deviceId ? { ...base, deviceId: { exact: deviceId } } : base;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraints });
      return stream.getTracks()[0] || null;
    } catch (err) {
      this.problems.push({ key: problemKey(err, kind), kind });
      return null;
    }
  }

  watchTrack(track) {
    if (!track) return;
    track.addEventListener("ended", () => {
      // the device was unplugged or the browser revoked it
      if (track === this.audioTrack || track === this.videoTrack) {
        this.problems.push({ key: "dc.err_device_gone", kind: track.kind });
        this.renderMessages();
      }
    });
  }

  async switchDevice(kind, deviceId) {
    const old = kind === "video" ? this.videoTrack : this.audioTrack;
    if (old && old.getSettings().deviceId === deviceId) return;
    this.problems = this.problems.filter((p) => p.kind !== kind && p.key !== "dc.err_device_gone");
    const enabled = old ? old.enabled : true;
    if (old) old.stop();
    const track = await this.open(kind, deviceId);
    if (track) track.enabled = enabled;
    if (kind === "video") this.videoTrack = track;
    else this.audioTrack = track;
    this.watchTrack(track);
    this.showPreview();
    if (kind === "audio") this.startMeter();
    this.renderMessages();
    this.el.root.dataset.state = this.state;
    this.onTrackChange(kind, track);
  }

  async listDevices() {
    if (!this.started || !navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return;
    }
    const fill = (select, kind, track) => {
      const current = track ? track.getSettings().deviceId : "";
      clear(select);
      const list = devices.filter((d) => d.kind === kind && d.deviceId);
      list.forEach((d, i) => {
        const label = d.label || t(kind === "videoinput" ? "dc.camera_n" : "dc.mic_n", { n: i + 1 });
        select.append(h("option", { value: d.deviceId, selected: d.deviceId === current }, label));
      });
      if (!list.length) select.append(h("option", { value: "" }, t("dc.none_found")));
      select.disabled = list.length < 1;
      if (current) select.value = current;
    };
    fill(this.el.camera, "videoinput", this.videoTrack);
    fill(this.el.mic, "audioinput", this.audioTrack);
  }

  showPreview() {
    const video = this.el.video;
    if (this.videoTrack) {
      video.srcObject = new MediaStream([this.videoTrack]);
      video.play().catch(() => {});
      this.el.placeholder.hidden = true;
    } else {
      video.srcObject = null;
      this.el.placeholder.hidden = false;
    }
  }

  /** Attach the local camera to another <video> (lobby preview, self view). */
  attachPreview(video) {
    const track = this.videoTrack;
    const cur = video.srcObject && video.srcObject.getVideoTracks ? video.srcObject.getVideoTracks()[0] : null;
    if (cur === track) return;
    video.srcObject = track ? new MediaStream([track]) : null;
    if (track) video.play().catch(() => {});
  }

  ensureAudioContext() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!this.audioCtx) this.audioCtx = new Ctx();
    if (this.audioCtx.state === "suspended") this.audioCtx.resume().catch(() => {});
    return this.audioCtx;
  }

  startMeter() {
    const ctx = this.audioCtx;
    if (this.meterSource) {
      this.meterSource.disconnect();
      this.meterSource = null;
    }
    if (!ctx || !this.audioTrack) {
      this.setLevel(0);
      return;
    }
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.analyser.smoothingTimeConstant = 0.3;
    this.meterSource = ctx.createMediaStreamSource(new MediaStream([this.audioTrack]));
    this.meterSource.connect(this.analyser);
    const samples = new Float32Array(this.analyser.fftSize);
    let lastAria = 0;
    let level = 0;
    if (this.meterRunning) return;
    this.meterRunning = true;
    const tick = (now) => {
      if (!this.meterRunning) return;
      if (this.analyser) {
        this.analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
        const rms = Math.sqrt(sum / samples.length);
        const db = 20 * Math.log10(rms || 1e-8);
        const target = Math.min(1, Math.max(0, (db + 60) / 60));
        level = target > level ? target : level * 0.85 + target * 0.15;
        if (this.audioTrack && !this.audioTrack.enabled) level = 0;
        this.el.fill.style.transform = `scaleX(${level.toFixed(3)})`;
        if (now - lastAria > 250) {
          lastAria = now;
          this.el.meter.setAttribute("aria-valuenow", String(Math.round(level * 100)));
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  setLevel(value) {
    this.el.fill.style.transform = `scaleX(${value})`;
    this.el.meter.setAttribute("aria-valuenow", String(Math.round(value * 100)));
  }

  stopMeter() {
    this.meterRunning = false;
    if (this.meterSource) this.meterSource.disconnect();
    this.meterSource = null;
    this.analyser = null;
  }

  playTestSound() {
    const ctx = this.ensureAudioContext();
    if (!ctx) return;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = 523.25;
    const now = ctx.currentTime;
    gain.gain.setValueAtTime(0, now);
    gain.gain.linearRampToValueAtTime(0.2, now + 0.05);
    gain.gain.setValueAtTime(0.2, now + 0.5);
    gain.gain.linearRampToValueAtTime(0, now + 0.7);
    osc.connect(gain).connect(ctx.destination);
    osc.start(now);
    osc.stop(now + 0.75);
  }

  renderMessages() {
    const list = this.el.messages;
    clear(list);
    if (!this.checked) return;
    const seen = new Set();
    for (const p of this.problems) {
      if (seen.has(p.key)) continue;
      seen.add(p.key);
      list.append(h("li", { class: "msg msg-warn", dataset: { key: p.key } }, t(p.key)));
    }
    const state = this.state;
    if (state === "ok") list.append(h("li", { class: "msg msg-ok", dataset: { key: "dc.ok" } }, t("dc.ok")));
    else if (state === "partial") {
      const key = this.videoTrack ? "dc.video_only" : "dc.audio_only";
      list.append(h("li", { class: "msg msg-info", dataset: { key } }, t(key)));
    } else if (state === "failed") list.append(h("li", { class: "msg msg-info", dataset: { key: "dc.failed_enter_anyway" } }, t("dc.failed_enter_anyway")));
  }

  stopTracks() {
    for (const track of [this.audioTrack, this.videoTrack]) if (track) track.stop();
    this.audioTrack = null;
    this.videoTrack = null;
  }

  /** Release everything: camera light off. */
  release() {
    this.stopMeter();
    this.stopTracks();
    this.el.video.srcObject = null;
    if (this.audioCtx) this.audioCtx.close().catch(() => {});
    this.audioCtx = null;
  }
}
