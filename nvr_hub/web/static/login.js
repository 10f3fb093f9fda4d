// Log in, with the optional TOTP second step, then go to the page we came from.
const form = document.getElementById("login");
const error = document.getElementById("error");
let pending = null;
async function post(path, body) {
  const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({ error: res.statusText }));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const f = new FormData(form);
  try {
    const data = pending
      ? await post("api/auth/login/totp", { token: pending, totp_code: f.get("totp_code") })
      : await post("api/auth/login", { username: f.get("username"), password: f.get("password") });
    if (data.totp_required) {
      pending = data.token;
      document.getElementById("totp-row").hidden = false;
      form.totp_code.focus();
      return;
    }
    location.href = "./";
  } catch (e) {
    error.textContent = e.message;
  }
});
