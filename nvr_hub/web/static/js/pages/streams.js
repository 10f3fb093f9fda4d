// Streams: list, add, edit (every field, grouped), delete, test a URL before saving, and
// the detection-zones editor.
import { bodySchema, del, enc, get, post, put } from "../api.js";
import { changed, schemaForm } from "../forms.js";
import { icon } from "../icons.js";
import { currentRoute, setRouteParams } from "../route.js";
import { badge, busy, confirmDialog, errorBox, field, h, modal, mount, tableWrap, toast } from "../ui.js";
import { zonesEditor } from "./zones.js";

const GROUPS = [
  ["Connection", ["name", "url", "protocol", "enabled", "streaming_enabled", "sub_stream_url", "buffer_strategy", "priority"]],
  ["Recording", ["record", "record_audio", "segment_duration"]],
  ["Detection", ["detection_enabled", "detection_based_recording", "detection_model", "detection_threshold", "detection_interval", "pre_detection_buffer", "post_detection_buffer", "detection_api_url"]],
  ["Retention", ["retention_days", "detection_retention_days", "max_storage_mb"]],
  ["ONVIF / PTZ", ["is_onvif", "onvif_username", "onvif_password", "onvif_profile", "ptz_enabled", "backchannel_enabled"]],
  ["Camera (updated from what it sends)", ["width", "height", "fps", "codec"]],
];

const META = {
  name: { label: "Name", hint: "Letters, digits, spaces, _ - . (up to 64)" },
  url: { label: "Camera URL", placeholder: "rtsp://user:pass@192.168.1.100:554/stream1", hint: "rtsp, rtsps, http(s), rtmp or demo://name?width=640&height=360&fps=10" },
  protocol: { label: "RTSP transport", options: [[0, "TCP"], [1, "UDP"]] },
  enabled: { label: "Enabled (connect to the camera)" },
  streaming_enabled: { label: "Live view" },
  sub_stream_url: { label: "Sub-stream URL", hint: "Optional lower-resolution stream" },
  buffer_strategy: { label: "Buffer strategy" },
  priority: { label: "Priority", hint: "1–10" },
  record: { label: "Record continuously" },
  record_audio: { label: "Record audio" },
  segment_duration: { label: "Segment length", unit: "seconds" },
  detection_enabled: { label: "Object detection" },
  detection_based_recording: { label: "Record only on detection" },
  detection_model: { label: "Detection model" },
  detection_threshold: { label: "Confidence threshold", step: 0.05, hint: "0–1" },
  detection_interval: { label: "Detect every N frames" },
  pre_detection_buffer: { label: "Seconds before a detection", unit: "s" },
  post_detection_buffer: { label: "Seconds after a detection", unit: "s" },
  detection_api_url: { label: "Detection API URL", placeholder: "http://detector:8000/detect", hint: "Empty = the global setting" },
  retention_days: { label: "Keep recordings (days)", hint: "0 = the global setting" },
  detection_retention_days: { label: "Keep detection recordings (days)", hint: "0 = as above" },
  max_storage_mb: { label: "Storage quota (MB)", hint: "0 = no quota" },
  is_onvif: { label: "ONVIF camera" },
  onvif_username: { label: "ONVIF username" },
  onvif_password: { label: "ONVIF password", type: "password" },
  onvif_profile: { label: "ONVIF profile token" },
  ptz_enabled: { label: "PTZ controls" },
  backchannel_enabled: { label: "Audio back-channel" },
  width: { label: "Width" }, height: { label: "Height" }, fps: { label: "FPS" }, codec: { label: "Codec" },
};

// The hub's defaults for a new stream (nvr_hub/stream_fields.py): the add form starts
// from them, and only what the user changes is sent.
const DEFAULTS = {
  name: "", url: "", enabled: true, streaming_enabled: true, width: 1280, height: 720, fps: 15,
  codec: "h264", priority: 5, record: true, segment_duration: 60, protocol: 0, record_audio: true,
  detection_based_recording: false, detection_model: "", detection_threshold: 0.5,
  detection_interval: 10, pre_detection_buffer: 5, post_detection_buffer: 10, detection_api_url: "",
  is_onvif: false, onvif_username: "", onvif_password: "", onvif_profile: "", ptz_enabled: false,
  backchannel_enabled: false, buffer_strategy: "auto", retention_days: 0,
  detection_retention_days: 0, max_storage_mb: 0, detection_enabled: false, sub_stream_url: "",
};

export async function render(root, ctx) {
  const err = errorBox();
  const tbody = h("tbody");
  const table = h("table", { "aria-label": "Streams" },
    h("thead", h("tr", ["Name", "Status", "URL", "Video", "Recording", "Detection", "Actions"].map((t) => h("th", t)))),
    tbody);
  const addBtn = h("button.primary", { type: "button", hidden: !ctx.canOperate }, "+ Add stream");
  mount(root, h("div.toolbar", h("h1", "Streams"), h("div.spacer"), addBtn), err, tableWrap(table));

  async function load() {
    try {
      const { streams } = await get("api/streams");
      if (!streams.length) {
        mount(tbody, h("tr", h("td", { colspan: 7 }, h("span.muted", "No streams yet."))));
        return;
      }
      mount(tbody, streams.map((s) => h("tr", { "data-stream": s.name },
        h("td", h("strong", s.name)),
        h("td", badge(s.status)),
        h("td", h("code", { style: { whiteSpace: "nowrap" } }, s.url)),
        h("td", s.width ? `${s.width}×${s.height} ${s.fps} fps ${s.codec}` : "–"),
        h("td", s.record ? "continuous" : s.detection_based_recording ? "on detection" : "off"),
        h("td", s.detection_enabled ? "on" : "off"),
        h("td.actions-cell", ctx.canOperate ? [
          h("button.icon", { type: "button", title: "Edit", "aria-label": `Edit ${s.name}`, onclick: () => openForm(s.name) }, icon("edit")),
          h("button.icon", { type: "button", title: "Detection zones", "aria-label": `Zones of ${s.name}`, onclick: () => zonesEditor(s.name) }, icon("zones")),
          h("button.icon", {
            type: "button", title: "Reconnect", "aria-label": `Reconnect ${s.name}`,
            onclick: (ev) => busy(ev.currentTarget, async () => { await post(`api/streams/${enc(s.name)}/refresh`); toast(`${s.name}: reconnecting`); await load(); }),
          }, icon("refresh")),
          h("button.icon", { type: "button", title: "Delete", "aria-label": `Delete ${s.name}`, onclick: () => remove(s.name) }, icon("trash")),
        ] : h("span.muted", "view only")))));
    } catch (e) {
      err.show(e);
    }
  }

  async function remove(name) {
    const withRecs = h("input", { type: "checkbox", name: "delete_recordings" });
    const ok = await modal(`Delete ${name}`, (close) => [
      h("p", `Stop and delete the stream “${name}”?`),
      field("Also delete its recordings", withRecs),
      h("div.actions",
        h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
        h("button.danger", { type: "button", onclick: () => close(true) }, "Delete stream")),
    ]);
    if (!ok) return;
    try {
      const res = await del(`api/streams/${enc(name)}`, { delete_recordings: withRecs.checked ? "true" : "" });
      toast(`${name} deleted${res.deleted_recordings ? ` with ${res.deleted_recordings} recording(s)` : ""}`);
      await load();
    } catch (e) {
      err.show(e);
    }
  }

  async function openForm(name) {
    const schema = await (name ? bodySchema("/api/streams/{name}", "PUT") : bodySchema("/api/streams", "POST")).catch((e) => { err.show(e); return null; });
    if (!schema) return;
    let before = { ...DEFAULTS };
    if (name) {
      try {
        before = await get(`api/streams/${enc(name)}`);
      } catch (e) { err.show(e); return; }
    }
    const saved = await modal(name ? `Edit ${name}` : "Add stream", (close) => {
      const form = schemaForm(schema, GROUPS, META);
      form.set(before);
      const formErr = errorBox();
      const testOut = h("p.test-result", { "aria-live": "polite" });
      const testBtn = h("button", { type: "button" }, "Test URL");
      testBtn.addEventListener("click", () => busy(testBtn, async () => {
        testOut.textContent = "Testing… (up to 10 s)";
        try {
          const values = form.read();
          const r = await post("api/streams/test", { url: values.url, protocol: values.protocol ?? 0 });
          testOut.textContent = `OK: ${r.codec} ${r.width}×${r.height}${r.fps ? ` at ${r.fps} fps` : ""}${r.audio_codec ? `, audio ${r.audio_codec}` : ", no audio"}`;
          testOut.className = "test-result ok";
        } catch (e) {
          testOut.textContent = "";
          throw e;
        }
      }, formErr));
      const urlField = form.controls.url.closest(".field");
      urlField.classList.add("url-field");
      urlField.append(h("div.row", testBtn, testOut));
      const submit = h("button.primary", { type: "submit" }, name ? "Save" : "Add stream");
      return h("form", {
        novalidate: true,
        onsubmit: (ev) => {
          ev.preventDefault();
          busy(submit, async () => {
            const values = form.read();
            const diff = changed(before, values);
            if (!name) {
              if (!values.name) throw new Error("Give the stream a name.");
              if (!values.url) throw new Error("Give the camera URL.");
              const stream = await post("api/streams", { ...diff, name: values.name, url: values.url });
              toast(`${stream.name} added`);
              close(stream);
              return;
            }
            if (!Object.keys(diff).length) { close(null); return; }
            const stream = await put(`api/streams/${enc(name)}`, diff);
            toast(`${stream.name} saved`);
            close(stream);
          }, formErr);
        },
      }, form.element, formErr, h("div.actions",
        h("button", { type: "button", onclick: () => close(null) }, "Cancel"), submit));
    }, { wide: true, className: "stream-form" });
    if (saved) await load();
  }

  addBtn.addEventListener("click", () => openForm(null));
  await load();
  if (currentRoute().params.get("add") && ctx.canOperate) {
    setRouteParams({});
    openForm(null);
  }
  const timer = setInterval(() => { if (!document.querySelector("dialog[open]")) load(); }, 10_000);
  return () => clearInterval(timer);
}
