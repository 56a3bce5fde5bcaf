// Small DOM and HTTP helpers shared by the join page and the clerk console.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/**
 * Create an element. `attrs` keys: `class`, `text`, `dataset` (object), `on` (object of
 * listeners), `hidden`, any other key becomes an attribute (skipped when null/false).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === "hidden") el.hidden = Boolean(value);
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Call the REST API; resolve with the JSON body or throw an ApiError. */
export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (err) {
    throw new ApiError("network.unreachable", String(err && err.message ? err.message : err), 0);
  }
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(e.code || `http.${resp.status}`, e.message || resp.statusText, resp.status);
  }
  return data;
}

/** Move keyboard focus to an element (for screen changes), without scrolling jumps. */
export function focusHeading(el) {
  if (!el) return;
  if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus({ preventScroll: false });
}

/** Re-render `container` with `build()`, keeping the focused control (by id) focused. */
export function keepFocus(container, build) {
  const active = document.activeElement;
  const id = active && container.contains(active) ? active.id : null;
  const selStart = id && "selectionStart" in active ? active.selectionStart : null;
  build();
  if (id) {
    const again = document.getElementById(id);
    if (again) {
      again.focus({ preventScroll: true });
      if (selStart !== null && typeof again.setSelectionRange === "function") {
        try { again.setSelectionRange(selStart, selStart); } catch { /* not a text field */ }
      }
    }
  }
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return "?";
  // CJK names: the first character is enough
  if (/[\u3400-\u9fff]/.test(parts[0])) return parts[0].slice(0, 1);
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

/** Copy text; falls back to selecting a field and execCommand on old or insecure pages. */
export async function copyText(text, field) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall through */ }
  if (field) {
    field.focus();
    field.select();
    try { return document.execCommand("copy"); } catch { return false; }
  }
  return false;
}
