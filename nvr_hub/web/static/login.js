// Log in, with the optional TOTP second step, then open the page asked for (or Live).
import { post } from "./js/api.js";

const form = document.getElementById("login");
const error = document.getElementById("error");
const stepPassword = document.getElementById("step-password");
const stepTotp = document.getElementById("step-totp");
const back = document.getElementById("back");
const submit = document.getElementById("submit");
let pending = null;

function showError(message) {
  error.textContent = message || "";
  error.hidden = !message;
}

function setStep(totp) {
  stepPassword.hidden = totp;
  stepTotp.hidden = !totp;
  back.hidden = !totp;
  submit.textContent = totp ? "Verify" : "Log in";
  (totp ? form.totp_code : form.username).focus();
}

back.addEventListener("click", () => { pending = null; form.totp_code.value = ""; showError(""); setStep(false); });

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("");
  if (!pending && (!form.username.value || !form.password.value)) {
    showError("Enter your username and password.");
    return;
  }
  if (pending && !form.totp_code.value.trim()) {
    showError("Enter the code from your authenticator app.");
    return;
  }
  submit.disabled = true;
  try {
    const opts = { noRedirect: true };
    const data = pending
      ? await post("api/auth/login/totp", { token: pending, totp_code: form.totp_code.value.trim() }, opts)
      : await post("api/auth/login", { username: form.username.value, password: form.password.value }, opts);
    if (data.totp_required) {
      pending = data.token;
      setStep(true);
      return;
    }
    const next = sessionStorage.getItem("nvr-next") || "#/live";
    sessionStorage.removeItem("nvr-next");
    location.href = "./" + (next.startsWith("#") ? next : "");
  } catch (e) {
    showError(e.message);
    if (pending && /expired|token/i.test(e.message)) { pending = null; setStep(false); }
  } finally {
    submit.disabled = false;
  }
});
