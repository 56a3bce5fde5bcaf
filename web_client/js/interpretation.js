// The interpretation channel (docs/protocol.md#interpretation): an interpreter publishes a
// second audio track from their microphone, in one language; everyone else chooses to hear
// the floor or the interpretation. The page mixes: with the interpretation chosen the floor
// plays at FLOOR_UNDER volume beneath it; the server never mixes.

import { $, h, clear } from "./dom.js";
import { t } from "./i18n.js";

/** The floor's volume under the interpretation. */
export const FLOOR_UNDER = 0.2;

/** Languages offered to the interpreter (BCP 47 tags). */
export const LANGUAGES = ["en", "zh-CN", "fr", "es", "de", "ar", "ru", "pt", "ja", "ko", "vi"];

export class Interpretation {
  constructor(app, room) {
    this.app = app;
    this.room = room;
    /** what this page listens to: "floor" or "mid:<mid>" of an interpretation channel */
    this.choice = "floor";
    this.el = {
      box: $("#interp-box"),
      lang: $("#interp-lang"),
      btn: $("#interp-btn"),
      label: $("#interp-label"),
      listenBox: $("#listen-box"),
      listen: $("#listen-select"),
    };
    for (const tag of LANGUAGES) this.el.lang.append(h("option", { value: tag }, tag));
    this.el.btn.addEventListener("click", () => this.toggle());
    this.el.listen.addEventListener("change", () => {
      this.choice = this.el.listen.value;
      this.room.renderAudio();
    });
  }

  setup(role) {
    this.el.box.hidden = role !== "interpreter";
  }

  render() {
    const on = Boolean(this.app.interpretationTrack);
    this.el.label.textContent = on ? t("interp.stop") : t("interp.start");
    this.el.btn.setAttribute("aria-pressed", on ? "true" : "false");
    this.el.lang.disabled = on;
  }

  async toggle() {
    const app = this.app;
    if (app.interpretationTrack) return this.stop();
    const mic = app.devices.audioTrack;
    if (!mic) {
      this.room.notice("interp", { tone: "warn", text: () => t("interp.no_mic") });
      return;
    }
    const track = mic.clone(); // a second track from the same microphone
    track.enabled = true;
    app.interpretationTrack = track;
    this.render();
    const ack = await app.emit("media.publish",
      { source: "interpretation", language: this.el.lang.value });
    if (!ack.ok) {
      if (app.interpretationTrack === track) app.interpretationTrack = null;
      track.stop();
      this.room.error(ack.error);
      this.render();
      return;
    }
    await app.media.setSource("interpretation", track);
  }

  async stop() {
    const app = this.app;
    const track = app.interpretationTrack;
    if (!track) return;
    app.interpretationTrack = null;
    track.stop();
    this.render();
    if (app.media) await app.media.setSource("interpretation", null);
    const ack = await app.emit("media.unpublish", { source: "interpretation" });
    if (!ack.ok && ack.error.code !== "media.not_connected") this.room.error(ack.error);
  }

  /** Offer the channels received now; set each <audio>'s volume for the choice made. */
  mix(audios) {
    const tracks = (this.app.media && this.app.media.tracks) || {};
    const channels = audios.filter((a) => tracks[a.dataset.mid]
      && tracks[a.dataset.mid].source === "interpretation");
    const options = [["floor", t("interp.floor")],
      ...channels.map((a) => [`mid:${a.dataset.mid}`,
        t("interp.channel", { language: tracks[a.dataset.mid].language || "?" })])];
    if (!options.some(([v]) => v === this.choice)) this.choice = "floor";
    const select = this.el.listen;
    const wanted = options.map(([v, text]) => `${v}=${text}`).join("|");
    if (select.dataset.options !== wanted) {
      clear(select);
      for (const [value, text] of options) select.append(h("option", { value }, text));
      select.dataset.options = wanted;
    }
    select.value = this.choice;
    this.el.listenBox.hidden = channels.length === 0;
    const chosen = this.choice === "floor" ? null : this.choice.slice(4);
    for (const a of audios) {
      const isChannel = channels.includes(a);
      a.dataset.source = isChannel ? "interpretation" : "floor";
      a.volume = isChannel ? (a.dataset.mid === chosen ? 1 : 0)
        : chosen ? FLOOR_UNDER : 1;
    }
  }
}
