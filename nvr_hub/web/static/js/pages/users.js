// Users (admin): list, add, edit role/email/active, lock password changes, reset TOTP,
// set a password, create an API key, delete.
import { del, get, post, put } from "../api.js";
import { apiKeyDialog, changePassword } from "../account.js";
import { icon } from "../icons.js";
import { badge, busy, confirmDialog, errorBox, field, fmtTime, h, modal, mount, tableWrap, toast } from "../ui.js";

const ROLES = [
  ["admin", "admin: everything"],
  ["user", "user: streams, recordings, own account"],
  ["viewer", "viewer: watch only"],
  ["api", "api: like user, for scripts"],
];

export async function render(root, ctx) {
  if (!ctx.isAdmin) {
    mount(root, h("h1", "Users"), h("p.error", { role: "alert" }, "Only an administrator can manage users."));
    return undefined;
  }
  const err = errorBox();
  const tbody = h("tbody");
  const addBtn = h("button.primary", { type: "button" }, "+ Add user");
  mount(root,
    h("div.toolbar", h("h1", "Users"), h("div.spacer"), addBtn), err,
    tableWrap(h("table", { "aria-label": "Users" },
      h("thead", h("tr", ["User", "Email", "Role", "State", "Two-factor", "Last login", "Actions"].map((t) => h("th", t)))),
      tbody)));

  async function load() {
    try {
      const { users } = await get("api/auth/users");
      mount(tbody, users.map((u) => h("tr", { "data-user": u.username },
        h("td", h("strong", u.username), u.id === ctx.me.id ? h("span.muted", " (you)") : null),
        h("td", u.email || "–"),
        h("td", badge(u.role, u.role === "admin" ? "admin" : "")),
        h("td", u.is_active ? "active" : badge("disabled", "error"), " ", u.password_change_locked ? badge("password locked", "locked") : null),
        h("td", u.totp_enabled ? badge("on", "ok") : "off"),
        h("td", u.last_login ? fmtTime(u.last_login) : "never"),
        h("td.actions-cell",
          h("button.icon", { type: "button", title: "Edit", "aria-label": `Edit ${u.username}`, onclick: () => edit(u) }, icon("edit")),
          h("button.icon", {
            type: "button", title: u.password_change_locked ? "Allow password changes" : "Lock password changes",
            "aria-label": `${u.password_change_locked ? "Unlock" : "Lock"} password of ${u.username}`,
            onclick: (ev) => busy(ev.currentTarget, async () => {
              await put(`api/auth/users/${u.id}/password-lock`, { locked: !u.password_change_locked });
              toast(`${u.username}: password changes ${u.password_change_locked ? "allowed" : "locked"}`);
              await load();
            }, err),
          }, icon(u.password_change_locked ? "unlock" : "lock")),
          h("button.icon", { type: "button", title: "API key", "aria-label": `API key for ${u.username}`, onclick: () => apiKeyDialog(u) }, icon("key")),
          h("button.icon", { type: "button", title: "Delete", "aria-label": `Delete ${u.username}`, onclick: () => remove(u) }, icon("trash"))))));
    } catch (e) {
      err.show(e);
    }
  }

  async function remove(u) {
    if (!(await confirmDialog("Delete user", `Delete ${u.username}? Their sessions and API key stop working.`, { ok: "Delete", danger: true }))) return;
    try {
      await del(`api/auth/users/${u.id}`);
      toast(`${u.username} deleted`);
      await load();
    } catch (e) {
      err.show(e);
    }
  }

  function edit(u) {
    return modal(`Edit ${u.username}`, (close) => {
      const formErr = errorBox();
      const username = h("input", { name: "username", value: u.username, autocomplete: "off" });
      const email = h("input", { name: "email", type: "email", value: u.email || "" });
      const role = h("select", { name: "role" }, ROLES.map(([v, l]) => h("option", { value: v, selected: v === u.role }, l)));
      const active = h("input", { type: "checkbox", name: "is_active", checked: u.is_active });
      const save = h("button.primary", { type: "submit" }, "Save");
      const resetTotp = h("button", { type: "button", disabled: !u.totp_enabled }, "Reset two-factor");
      resetTotp.addEventListener("click", async () => {
        if (!(await confirmDialog("Reset two-factor", `Turn off two-factor authentication for ${u.username}? They can set it up again.`, { ok: "Reset" }))) return;
        busy(resetTotp, async () => {
          await post(`api/auth/users/${u.id}/totp/disable`);
          toast(`${u.username}: two-factor authentication reset`);
          close(true);
        }, formErr);
      });
      const setPw = h("button", { type: "button", onclick: async () => { close(false); await changePassword(u, { own: u.id === ctx.me.id }); } }, "Set password");
      return h("form", {
        onsubmit: (ev) => {
          ev.preventDefault();
          busy(save, async () => {
            const body = {};
            if (username.value !== u.username) body.username = username.value;
            if (email.value !== (u.email || "")) body.email = email.value;
            if (role.value !== u.role) body.role = role.value;
            if (active.checked !== u.is_active) body.is_active = active.checked;
            if (Object.keys(body).length) await put(`api/auth/users/${u.id}`, body);
            toast(`${username.value} saved`);
            close(true);
          }, formErr);
        },
      },
      field("Username", username), field("Email", email), field("Role", role), field("Active (may log in)", active),
      h("div.row", { style: { flexWrap: "wrap" } }, resetTotp, setPw),
      formErr,
      h("div.actions", h("button", { type: "button", onclick: () => close(false) }, "Cancel"), save));
    }).then((ok) => ok && load());
  }

  addBtn.addEventListener("click", () => modal("Add user", (close) => {
    const formErr = errorBox();
    const username = h("input", { name: "username", required: true, autocomplete: "off" });
    const password = h("input", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" });
    const email = h("input", { name: "email", type: "email" });
    const role = h("select", { name: "role" }, ROLES.map(([v, l]) => h("option", { value: v, selected: v === "user" }, l)));
    const save = h("button.primary", { type: "submit" }, "Add user");
    return h("form", {
      novalidate: true,
      onsubmit: (ev) => {
        ev.preventDefault();
        busy(save, async () => {
          if (!username.value.trim()) throw new Error("Give a username.");
          if (password.value.length < 8) throw new Error("The password needs at least 8 characters.");
          const body = { username: username.value.trim(), password: password.value, role: role.value };
          if (email.value) body.email = email.value;
          const user = await post("api/auth/users", body);
          toast(`${user.username} added`);
          close(true);
        }, formErr);
      },
    },
    field("Username", username, "Letters, digits, _ . @ -"), field("Password", password, "At least 8 characters"),
    field("Email (optional)", email), field("Role", role), formErr,
    h("div.actions", h("button", { type: "button", onclick: () => close(false) }, "Cancel"), save));
  }).then((ok) => ok && load()));

  await load();
  return undefined;
}
