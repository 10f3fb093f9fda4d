// The minimal home page: who is signed in and the streams with their status.
async function api(path) {
  const res = await fetch(path);
  if (res.status === 401) { location.href = "login.html"; throw new Error("not signed in"); }
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}
async function load() {
  try {
    const me = await api("api/auth/verify");
    document.getElementById("who").textContent = me.user.username + " (" + me.user.role + ")";
    const { streams } = await api("api/streams");
    const body = document.querySelector("#streams tbody");
    body.replaceChildren(...streams.map((s) => {
      const tr = document.createElement("tr");
      for (const v of [s.name, s.status, s.width + "×" + s.height, s.record ? "on" : "off"]) {
        const td = document.createElement("td"); td.textContent = v; tr.append(td);
      }
      return tr;
    }));
  } catch (e) {
    document.getElementById("error").textContent = e.message;
  }
}
load();
setInterval(load, 5000);
