// Small DOM helpers shared by every page: element building, dialogs, notices, formatting.

/**
 * h("button.primary", {onclick, type: "button"}, "Save") builds an element.
 * Attributes starting with "on" become listeners; `dataset`/`style` objects are merged;
 * true/false toggle boolean attributes; children may be strings, nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.classList.add(...classes);
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k === "class") el.className += (el.className ? " " : "") + v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let idCounter = 0;
/** A unique id for label/for and aria links. */
export const uid = (prefix = "f") => `${prefix}-${++idCounter}`;

/** A labelled form control: returns the wrapping element; the control is `.control`. */
export function field(label, control, hint) {
  control.id ||= uid();
  const hintEl = hint ? h("small.hint", { id: control.id + "-hint" }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  const wrap = control.type === "checkbox"
    ? h("div.field.check", control, h("label", { for: control.id }, label), hintEl)
    : h("div.field", h("label", { for: control.id }, label), control, hintEl);
  wrap.control = control;
  return wrap;
}

/** An alert line that shows an error message (or nothing). */
export function errorBox() {
  const el = h("p.error", { role: "alert", hidden: true });
  el.show = (err) => {
    el.textContent = err ? (err.message || String(err)) : "";
    el.hidden = !err;
  };
  return el;
}

/** A passing notice at the bottom of the screen (role=status, so readers announce it). */
export function toast(message, kind = "ok") {
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const item = h(`div.toast.${kind}`, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/**
 * A modal <dialog> with a title, body and buttons. Resolves with the value given to close()
 * (undefined on Esc / Cancel). `build(close, dlg)` returns the body nodes.
 */
export function modal(title, build, { wide = false, className = "" } = {}) {
  return new Promise((resolve) => {
    const dlg = h(`dialog.modal${wide ? ".wide" : ""}`, { "aria-labelledby": uid("dlg") });
    if (className) dlg.classList.add(className);
    const heading = h("h2", { id: dlg.getAttribute("aria-labelledby") }, title);
    const closeBtn = h("button.icon.close", { type: "button", "aria-label": "Close dialog", title: "Close (Esc)", onclick: () => close() }, "✕");
    let result;
    const close = (value) => { result = value; dlg.close(); };
    dlg.append(h("header", heading, closeBtn), h("div.body", build(close, dlg)));
    dlg.addEventListener("close", () => {
      dlg.dispatchEvent(new Event("teardown"));
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Ask yes/no; resolves true when confirmed. */
export function confirmDialog(title, message, { ok = "OK", danger = false } = {}) {
  return modal(title, (close) => [
    h("p", message),
    h("div.actions",
      h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
      h(`button.${danger ? "danger" : "primary"}`, { type: "button", autofocus: true, onclick: () => close(true) }, ok)),
  ]).then((v) => v === true);
}

/** Run an async action from a button: disables it, shows errors in `errEl` or a toast. */
export async function busy(button, action, errEl) {
  if (button) button.disabled = true;
  errEl?.show(null);
  try {
    return await action();
  } catch (err) {
    if (errEl) errEl.show(err);
    else toast(err.message || String(err), "error");
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i && n < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtDuration(seconds) {
  seconds = Math.max(0, Math.round(seconds || 0));
  const d = Math.floor(seconds / 86400), hh = Math.floor((seconds % 86400) / 3600);
  const mm = Math.floor((seconds % 3600) / 60), ss = seconds % 60;
  if (d) return `${d}d ${hh}h ${mm}m`;
  if (hh) return `${hh}h ${String(mm).padStart(2, "0")}m`;
  return `${mm}:${String(ss).padStart(2, "0")}`;
}

/** A UTC ISO time shown in the browser's local time. */
export function fmtTime(iso, withDate = true) {
  if (!iso) return "–";
  const d = new Date(iso);
  return withDate
    ? d.toLocaleString([], { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** `<input type=datetime-local>` value (local time) → UTC ISO string for the API. */
export function localToIso(value) {
  return value ? new Date(value).toISOString() : "";
}

/** A Date → `YYYY-MM-DD` in local time (for <input type=date>). */
export function localDate(d = new Date()) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Empty a container and put new children in. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A status badge for a stream status or any short word. */
export function badge(text, kind = text) {
  return h(`span.badge.s-${String(kind).replace(/[^a-z_]/gi, "")}`, text);
}

/** A scrolling wrapper for wide tables (phones scroll sideways, the page does not). */
export const tableWrap = (table) => h("div.table-wrap", { tabindex: "0", role: "region", "aria-label": table.getAttribute("aria-label") || "table" }, table);
