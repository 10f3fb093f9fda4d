// Settings: every runtime setting the hub accepts (read from its OpenAPI schema), grouped,
// with restart-required hints; only changed keys are sent. Read-only for non-admins.
import { bodySchema, get, post } from "../api.js";
import { changed, schemaForm } from "../forms.js";
import { busy, confirmDialog, errorBox, h, mount, toast } from "../ui.js";

const GROUPS = [
  ["General", ["log_level", "snapshot_interval"]],
  ["Storage and retention", ["retention_days", "max_storage_mb", "min_free_mb"]],
  ["Web server and sessions", ["web_port", "session_idle_minutes", "session_absolute_hours"]],
  ["Detection", ["detection_api_url"]],
  ["Live view (WebRTC)", ["ice_servers", "webrtc_max_peers_per_stream", "webrtc_max_peers"]],
  ["MQTT", ["mqtt_enabled", "mqtt_host", "mqtt_port", "mqtt_username", "mqtt_password", "mqtt_client_id", "mqtt_protocol", "mqtt_topic_prefix", "mqtt_tls", "mqtt_tls_ca", "mqtt_tls_cert", "mqtt_tls_key", "mqtt_tls_insecure", "mqtt_discovery", "mqtt_discovery_prefix", "mqtt_stats_interval", "mqtt_motion_off_delay", "mqtt_base_url"]],
];

// Documented as applying only after a restart (README "Runtime settings"); the POST
// answer's `restart_required` covers any other.
const META = {
  log_level: { label: "Log level" },
  snapshot_interval: { label: "Snapshot interval", unit: "seconds, 0 = off" },
  retention_days: { label: "Keep recordings (days)", hint: "0 = no age limit" },
  max_storage_mb: { label: "Storage quota (MB)", hint: "0 = none" },
  min_free_mb: { label: "Keep this much disk free (MB)" },
  web_port: { label: "Web port", restart: true },
  session_idle_minutes: { label: "Session idle timeout (minutes)", restart: true },
  session_absolute_hours: { label: "Session lifetime (hours)", restart: true },
  detection_api_url: { label: "Detection API URL", placeholder: "http://detector:8000/detect" },
  ice_servers: { label: "ICE servers (JSON)", type: "json", hint: '[{"urls": ["stun:stun.example.org:3478"]}]' },
  webrtc_max_peers_per_stream: { label: "Viewers per stream" },
  webrtc_max_peers: { label: "Viewers in all" },
  mqtt_enabled: { label: "MQTT enabled" },
  mqtt_host: { label: "Broker host" },
  mqtt_port: { label: "Broker port" },
  mqtt_username: { label: "Username" },
  mqtt_password: { label: "Password", type: "password" },
  mqtt_client_id: { label: "Client id", hint: "empty = automatic" },
  mqtt_protocol: { label: "Protocol version" },
  mqtt_topic_prefix: { label: "Topic prefix" },
  mqtt_tls: { label: "TLS" },
  mqtt_tls_ca: { label: "TLS CA file" },
  mqtt_tls_cert: { label: "TLS client certificate" },
  mqtt_tls_key: { label: "TLS client key" },
  mqtt_tls_insecure: { label: "Skip TLS verification" },
  mqtt_discovery: { label: "Home Assistant discovery" },
  mqtt_discovery_prefix: { label: "Discovery prefix" },
  mqtt_stats_interval: { label: "Statistics every (s)" },
  mqtt_motion_off_delay: { label: "Motion off delay (s)" },
  mqtt_base_url: { label: "Hub URL for Home Assistant", placeholder: "http://nvr.local:8080" },
};

export async function render(root, ctx) {
  const err = errorBox();
  const banner = h("div.notice", { hidden: true, role: "status" });
  const [schema, current] = await Promise.all([bodySchema("/api/settings", "POST"), get("api/settings")]);
  let before = current;
  const form = schemaForm(schema, GROUPS, META, { readOnly: !ctx.isAdmin });
  form.set(before);
  const save = h("button.primary", { type: "submit", hidden: !ctx.isAdmin }, "Save settings");
  const reset = h("button", { type: "button", hidden: !ctx.isAdmin, onclick: () => { form.set(before); err.show(null); } }, "Undo changes");
  const el = h("form.settings", {
    novalidate: true,
    onsubmit: (ev) => {
      ev.preventDefault();
      busy(save, async () => {
        const diff = changed(before, form.read());
        if (!Object.keys(diff).length) { toast("Nothing changed"); return; }
        const res = await post("api/settings", diff);
        before = res.settings || (await get("api/settings"));
        form.set(before);
        toast(`Saved: ${(res.changed || Object.keys(diff)).join(", ")}`);
        showRestart(res);
      }, err);
    },
  }, form.element, err, h("div.actions", reset, save));

  function showRestart(res) {
    if (!res.restart_required) { banner.hidden = true; return; }
    const keys = (res.changed || []).filter((k) => META[k]?.restart);
    const restart = h("button.danger", { type: "button" }, "Restart now");
    restart.addEventListener("click", async () => {
      if (!(await confirmDialog("Restart", "Restart the hub now?", { ok: "Restart", danger: true }))) return;
      busy(restart, async () => { await post("api/system/restart"); toast("Restarting…"); }, err);
    });
    mount(banner, h("span", `Saved. ${keys.length ? keys.join(", ") + " apply" : "Some changes apply"} only after a restart. `), restart);
    banner.hidden = false;
  }

  mount(root,
    h("div.toolbar", h("h1", "Settings"), h("div.spacer"), ctx.isAdmin ? null : h("span.muted", "Only an administrator can change settings.")),
    banner, el);
}
