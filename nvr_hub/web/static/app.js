// The web UI shell: who is signed in, the page menu, the user menu, and a hash router
// (#/live, #/recordings?...) so every page works under any path prefix with no server routes.
import { get, post, setUnauthorizedHandler } from "./js/api.js";
import { h, mount, toast } from "./js/ui.js";
import { openAccountAction } from "./js/account.js";
import { currentRoute } from "./js/route.js";

const PAGES = {
  live: () => import("./js/pages/live.js"),
  recordings: () => import("./js/pages/recordings.js"),
  timeline: () => import("./js/pages/timeline.js"),
  streams: () => import("./js/pages/streams.js"),
  system: () => import("./js/pages/system.js"),
  settings: () => import("./js/pages/settings.js"),
  users: () => import("./js/pages/users.js"),
};
const TITLES = {
  live: "Live", recordings: "Recordings", timeline: "Timeline", streams: "Streams",
  system: "System", settings: "Settings", users: "Users",
};

const main = document.getElementById("main");
const ctx = { me: null, isAdmin: false, canOperate: false };
let cleanup = null;
let renderSeq = 0;

function toLogin() {
  if (location.hash) sessionStorage.setItem("nvr-next", location.hash);
  location.href = "login.html";
}
setUnauthorizedHandler(toLogin);

async function route() {
  const seq = ++renderSeq;
  let { page } = currentRoute();
  if (!PAGES[page]) page = "live";
  if ((page === "users") && !ctx.isAdmin) page = "live";
  if (cleanup) { try { cleanup(); } catch (err) { console.error(err); } cleanup = null; }
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${TITLES[page]} · nvr-hub`;
  closeNav();
  mount(main, h("p.muted", "Loading…"));
  try {
    const module = await PAGES[page]();
    if (seq !== renderSeq) return;
    const view = h("section.page", { "data-page": page });
    mount(main, view);
    cleanup = (await module.render(view, ctx)) || null;
    if (seq !== renderSeq && cleanup) { cleanup(); cleanup = null; }
    // After a page change from the menu, keyboard and screen-reader users start on the page.
    if (seq > 1 && document.activeElement?.closest("#nav")) main.focus({ preventScroll: true });
  } catch (err) {
    if (seq !== renderSeq) return;
    mount(main, h("p.error", { role: "alert" }, `Could not open this page: ${err.message}`));
  }
}

function closeNav() {
  document.getElementById("nav").classList.remove("open");
  document.getElementById("nav-toggle").setAttribute("aria-expanded", "false");
}

function setupMenus() {
  const toggle = document.getElementById("nav-toggle");
  toggle.addEventListener("click", () => {
    const open = document.getElementById("nav").classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  const button = document.getElementById("user-button");
  const items = document.getElementById("user-items");
  const setOpen = (open) => {
    items.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) items.querySelector("button:not([hidden])").focus();
  };
  button.addEventListener("click", () => setOpen(items.hidden));
  items.addEventListener("keydown", (ev) => {
    const all = [...items.querySelectorAll("button:not([hidden])")];
    const i = all.indexOf(document.activeElement);
    if (ev.key === "Escape") { setOpen(false); button.focus(); }
    else if (ev.key === "ArrowDown") { ev.preventDefault(); all[(i + 1) % all.length].focus(); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); all[(i - 1 + all.length) % all.length].focus(); }
  });
  document.addEventListener("click", (ev) => {
    if (!items.hidden && !ev.target.closest(".user-menu")) setOpen(false);
  });
  items.addEventListener("click", async (ev) => {
    const action = ev.target.closest("button")?.dataset.action;
    if (!action) return;
    setOpen(false);
    if (action === "logout") {
      try { await post("api/auth/logout"); } catch { /* already gone */ }
      location.href = "login.html";
      return;
    }
    const changed = await openAccountAction(action, ctx);
    if (changed) ctx.me = (await get("api/auth/verify")).user;
  });
}

async function start() {
  setupMenus();
  let me;
  try {
    me = await get("api/auth/verify");
  } catch (err) {
    if (err.status !== 401) mount(main, h("p.error", { role: "alert" }, err.message));
    return;
  }
  ctx.me = me.user;
  ctx.isAdmin = me.user.role === "admin";
  ctx.canOperate = ["admin", "user", "api"].includes(me.user.role);
  document.getElementById("who").textContent = me.user.username;
  document.getElementById("user-button").title = `${me.user.username} (${me.user.role})`;
  for (const a of document.querySelectorAll("#nav a[data-admin]")) {
    // Settings are readable by everyone, changed by admins; Users is admin only.
    if (!ctx.isAdmin && a.dataset.page === "users") a.hidden = true;
  }
  if (me.user.role === "viewer" || me.user.role === "api") {
    document.querySelector('[data-action="apikey"]').hidden = true;
  }
  window.addEventListener("hashchange", route);
  if (!location.hash) history.replaceState(null, "", "#/live");
  await route();
  if (sessionStorage.getItem("nvr-welcome")) { sessionStorage.removeItem("nvr-welcome"); toast("Welcome"); }
}

start();
