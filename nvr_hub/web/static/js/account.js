// The signed-in user's own account: change password, TOTP enrolment with a QR code, API key.
import { get, post, put } from "./api.js";
import { busy, errorBox, field, h, modal, toast } from "./ui.js";
import qrcode from "../vendor/qrcode-generator/qrcode.js";

/** Open the dialog for a user-menu action; resolves true when the account changed. */
export function openAccountAction(action, ctx) {
  if (action === "password") return changePassword(ctx.me, { own: true });
  if (action === "totp") return totpDialog(ctx.me);
  if (action === "apikey") return apiKeyDialog(ctx.me);
  return Promise.resolve(false);
}

/** Change a password: your own (old password asked) or, for an admin, someone else's. */
export function changePassword(user, { own }) {
  return modal(own ? "Change password" : `Set password for ${user.username}`, (close) => {
    const err = errorBox();
    const old = h("input", { type: "password", name: "old_password", autocomplete: "current-password", required: own });
    const next = h("input", { type: "password", name: "new_password", autocomplete: "new-password", minlength: 8, required: true });
    const again = h("input", { type: "password", name: "confirm_password", autocomplete: "new-password", required: true });
    const submit = h("button.primary", { type: "submit" }, "Change password");
    const form = h("form", {
      onsubmit: (ev) => {
        ev.preventDefault();
        if (next.value.length < 8) return err.show(new Error("The new password needs at least 8 characters."));
        if (next.value !== again.value) return err.show(new Error("The two new passwords differ."));
        const body = { new_password: next.value };
        if (own) body.old_password = old.value;
        busy(submit, async () => {
          await put(`api/auth/users/${user.id}/password`, body);
          toast("Password changed");
          close(true);
        }, err);
      },
    },
    own ? field("Current password", old) : null,
    field("New password", next, "At least 8 characters."),
    field("Repeat the new password", again),
    err,
    h("div.actions", submit));
    if (user.password_change_locked && own) {
      form.prepend(h("p.notice", "An administrator has locked password changes for this account."));
    }
    return form;
  });
}

/** Draw an otpauth:// URI as an SVG QR code. */
export function qrSvg(text) {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const wrap = h("div.qr", { role: "img", "aria-label": "QR code for your authenticator app" });
  // createSvgTag builds markup from the module's own output (no user input inside).
  wrap.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
  return wrap;
}

/** Enrol or disable TOTP for `user` (the signed-in user). */
export function totpDialog(user) {
  return modal("Two-factor authentication", (close) => {
    const err = errorBox();
    const body = h("div", h("p.muted", "Loading…"));
    const showStatus = async () => {
      const status = await get(`api/auth/users/${user.id}/totp/status`);
      if (status.totp_enabled) {
        const off = h("button.danger", { type: "button" }, "Turn off two-factor authentication");
        off.addEventListener("click", () => busy(off, async () => {
          await post(`api/auth/users/${user.id}/totp/disable`);
          toast("Two-factor authentication is off");
          close(true);
        }, err));
        body.replaceChildren(h("p", "Two-factor authentication is on: logging in asks for a code from your authenticator app."), h("div.actions", off));
        return;
      }
      const start = h("button.primary", { type: "button" }, "Set up");
      start.addEventListener("click", () => busy(start, enrol, err));
      body.replaceChildren(
        h("p", "Two-factor authentication is off. Set it up to be asked for a 6-digit code from an authenticator app when you log in."),
        h("div.actions", start));
    };
    const enrol = async () => {
      const setup = await post(`api/auth/users/${user.id}/totp/setup`);
      const code = h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 8, required: true });
      const verify = h("button.primary", { type: "submit" }, "Verify and turn on");
      const form = h("form", {
        onsubmit: (ev) => {
          ev.preventDefault();
          busy(verify, async () => {
            await post(`api/auth/users/${user.id}/totp/verify`, { code: code.value.trim() });
            toast("Two-factor authentication is on");
            close(true);
          }, err);
        },
      }, field("Code from the app", code), h("div.actions", verify));
      body.replaceChildren(
        h("p", "Scan this code with your authenticator app, or type the secret into it, then enter the code it shows."),
        qrSvg(setup.otpauth_uri),
        h("p", "Secret: ", h("code.secret", { "data-testid": "totp-secret" }, setup.secret)),
        form);
      code.focus();
    };
    showStatus().catch((e) => err.show(e));
    return [body, err];
  });
}

/** Create an API key (shown once) for `user`. */
export function apiKeyDialog(user) {
  return modal("Create API key", (close) => {
    const err = errorBox();
    const out = h("div");
    const create = h("button.primary", { type: "button" }, "Create key");
    create.addEventListener("click", () => busy(create, async () => {
      const { api_key: key } = await post(`api/auth/users/${user.id}/api-key`);
      const box = h("input.key", { readonly: true, value: key, "aria-label": "API key", onfocus: (e) => e.target.select() });
      const copy = h("button", { type: "button", onclick: async () => {
        try { await navigator.clipboard.writeText(key); toast("Copied"); } catch { box.select(); }
      } }, "Copy");
      out.replaceChildren(
        h("p", "Your new key (shown only this once; send it as ", h("code", "X-API-Key"), " or ", h("code", "Authorization: Bearer"), "):"),
        h("div.row", box, copy));
      create.hidden = true;
      box.focus();
    }, err));
    return [
      h("p", `A new key for ${user.username} replaces the previous one, which stops working.`),
      out, err, h("div.actions", create, h("button", { type: "button", onclick: () => close(false) }, "Close")),
    ];
  });
}
