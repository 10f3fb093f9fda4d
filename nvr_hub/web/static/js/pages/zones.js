// Detection zones editor: polygons drawn on a snapshot of the stream (points normalised
// 0–1), saved as the whole set with POST /api/streams/{name}/zones.
import { enc, get, post, url } from "../api.js";
import { busy, errorBox, field, h, modal, toast } from "../ui.js";

const COLORS = ["#ff4d4d", "#4da3ff", "#3fb950", "#d29922", "#c678dd", "#56b6c2"];
const SVG = "http://www.w3.org/2000/svg";
const svgEl = (tag, attrs) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
};

export async function zonesEditor(name) {
  let zones;
  try {
    zones = (await get(`api/streams/${enc(name)}/zones`)).zones || [];
  } catch (e) {
    toast(e.message, "error");
    return;
  }
  zones = zones.map((z) => ({ ...z, polygon: (z.polygon || []).map((p) => ({ x: p.x, y: p.y })) }));
  let current = zones.length ? 0 : -1;

  await modal(`Detection zones · ${name}`, (close) => {
    const err = errorBox();
    const img = h("img", { alt: `Snapshot of ${name}`, src: url(`api/streams/${enc(name)}/snapshot.jpg`, { _: Date.now() }) });
    img.addEventListener("error", () => err.show(new Error("No picture from this stream yet; zones can still be drawn.")));
    const svg = svgEl("svg", { viewBox: "0 0 1 1", preserveAspectRatio: "none", "aria-hidden": "true" });
    const canvas = h("div.zone-canvas", { title: "Click to add a point to the selected zone" }, img, svg);
    const list = h("div.zone-list", { role: "group", "aria-label": "Zones" });
    const nameIn = h("input", { name: "zone_name", maxlength: 128 });
    const colorIn = h("input", { type: "color", name: "zone_color" });
    const enabledIn = h("input", { type: "checkbox", name: "zone_enabled" });
    const confIn = h("input", { type: "number", name: "min_confidence", min: 0, max: 1, step: 0.05 });
    const classesIn = h("input", { name: "filter_classes", placeholder: "person, car" });
    const props = h("div.zone-props",
      field("Zone name", nameIn), field("Colour", colorIn), field("Enabled", enabledIn),
      field("Minimum confidence", confIn, "0–1"), field("Only these classes", classesIn, "Comma-separated; empty = all"));
    const undo = h("button", { type: "button" }, "Undo point");
    const clear = h("button", { type: "button" }, "Clear points");
    const removeZone = h("button.danger", { type: "button" }, "Delete zone");
    const count = h("p.muted", { "aria-live": "polite" });

    function draw() {
      svg.replaceChildren();
      zones.forEach((z, i) => {
        const pts = z.polygon.map((p) => `${p.x},${p.y}`).join(" ");
        const color = z.color || COLORS[i % COLORS.length];
        svg.append(svgEl(z.polygon.length > 2 ? "polygon" : "polyline", {
          points: pts, fill: i === current ? `${color}55` : `${color}30`, stroke: color,
          "stroke-width": i === current ? "0.006" : "0.003", "vector-effect": "non-scaling-stroke",
        }));
        if (i === current) for (const p of z.polygon) svg.append(svgEl("circle", { cx: p.x, cy: p.y, r: "0.008", fill: color }));
      });
      list.replaceChildren(...zones.map((z, i) => h("button.zone", {
        type: "button", "aria-pressed": String(i === current), onclick: () => { current = i; sync(); },
      }, h("span.swatch", { style: { background: z.color || COLORS[i % COLORS.length] } }), ` ${z.name} (${z.polygon.length} points)`)));
      const z = zones[current];
      props.hidden = !z;
      for (const b of [undo, clear, removeZone]) b.disabled = !z;
      count.textContent = z ? (z.polygon.length < 3 ? `Click on the picture to add points (${z.polygon.length} so far, 3 needed).` : `${z.polygon.length} points.`) : "Add a zone, then click on the picture to draw it.";
    }
    function sync() {
      const z = zones[current];
      if (z) {
        nameIn.value = z.name;
        colorIn.value = /^#[0-9a-f]{6}$/i.test(z.color || "") ? z.color : COLORS[current % COLORS.length];
        enabledIn.checked = z.enabled !== false;
        confIn.value = z.min_confidence ?? "";
        classesIn.value = Array.isArray(z.filter_classes) ? z.filter_classes.join(", ") : z.filter_classes || "";
      }
      draw();
    }
    const edit = (fn) => () => { const z = zones[current]; if (z) { fn(z); draw(); } };
    nameIn.addEventListener("input", edit((z) => { z.name = nameIn.value; }));
    colorIn.addEventListener("input", edit((z) => { z.color = colorIn.value; }));
    enabledIn.addEventListener("change", edit((z) => { z.enabled = enabledIn.checked; }));
    confIn.addEventListener("input", edit((z) => { z.min_confidence = confIn.value === "" ? undefined : Number(confIn.value); }));
    classesIn.addEventListener("input", edit((z) => { z.filter_classes = classesIn.value.split(",").map((s) => s.trim()).filter(Boolean); }));
    undo.addEventListener("click", edit((z) => z.polygon.pop()));
    clear.addEventListener("click", edit((z) => { z.polygon = []; }));
    removeZone.addEventListener("click", () => { zones.splice(current, 1); current = Math.min(current, zones.length - 1); sync(); });
    canvas.addEventListener("click", (ev) => {
      if (current < 0) { addZone(); }
      const rect = canvas.getBoundingClientRect();
      const x = Math.min(1, Math.max(0, (ev.clientX - rect.left) / rect.width));
      const y = Math.min(1, Math.max(0, (ev.clientY - rect.top) / rect.height));
      zones[current].polygon.push({ x: Math.round(x * 1000) / 1000, y: Math.round(y * 1000) / 1000 });
      draw();
    });
    function addZone() {
      zones.push({ name: `zone ${zones.length + 1}`, enabled: true, color: COLORS[zones.length % COLORS.length], polygon: [] });
      current = zones.length - 1;
      sync();
      nameIn.focus();
    }
    const add = h("button", { type: "button", onclick: addZone }, "+ New zone");
    const save = h("button.primary", { type: "button" }, "Save zones");
    save.addEventListener("click", () => busy(save, async () => {
      const bad = zones.find((z) => z.polygon.length < 3 || !z.name.trim());
      if (bad) throw new Error(`Zone “${bad.name || "(no name)"}” needs a name and at least 3 points.`);
      const body = zones.map((z) => {
        const out = { name: z.name.trim(), enabled: z.enabled !== false, color: z.color || "", polygon: z.polygon };
        if (z.id !== undefined && z.id !== null) out.id = z.id;
        if (z.min_confidence !== undefined && z.min_confidence !== null) out.min_confidence = z.min_confidence;
        if (z.filter_classes !== undefined) out.filter_classes = z.filter_classes;
        return out;
      });
      await post(`api/streams/${enc(name)}/zones`, { zones: body });
      toast(`Zones of ${name} saved`);
      close(true);
    }, err));
    sync();
    return [
      h("div.zone-editor",
        h("div", canvas, count),
        h("div", list, add, props, h("div.row", { style: { flexWrap: "wrap", marginTop: ".5rem" } }, undo, clear, removeZone))),
      err,
      h("div.actions", h("button", { type: "button", onclick: () => close(false) }, "Cancel"), save),
    ];
  }, { wide: true, className: "zones-dialog" });
}
