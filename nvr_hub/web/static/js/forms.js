// Forms built from the hub's own OpenAPI body schemas: each field gets the right control
// (checkbox, number with its range, select for enums, text), grouped by a table of labels,
// so a field the API gains later still shows up (under "Other").
import { field, h } from "./ui.js";

/**
 * Build grouped fieldsets. `groups`: [[legend, [key...]]...]; `meta[key]`: {label, hint,
 * type ("password", "textarea-json", "select"), options: [[value, label]...], step}.
 * Returns {element, read(), set(values), controls}.
 */
export function schemaForm(schema, groups, meta = {}, { readOnly = false, skip = [] } = {}) {
  const props = schema?.properties || {};
  const controls = {};
  const placed = new Set(skip);
  const make = (key) => {
    const spec = props[key] || {};
    const m = meta[key] || {};
    const label = m.label || key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
    let control;
    let kind;
    if (m.options || spec.enum) {
      const options = m.options || spec.enum.map((v) => [v, String(v)]);
      control = h("select", { name: key }, options.map(([v, l]) => h("option", { value: String(v) }, l)));
      kind = typeof options[0][0] === "number" ? "int" : "string";
    } else if (spec.type === "boolean") {
      control = h("input", { type: "checkbox", name: key });
      kind = "bool";
    } else if (spec.type === "integer" || spec.type === "number") {
      control = h("input", {
        type: "number", name: key, min: spec.minimum, max: spec.maximum,
        step: m.step || (spec.type === "integer" ? 1 : "any"), inputmode: spec.type === "integer" ? "numeric" : "decimal",
      });
      kind = spec.type === "integer" ? "int" : "float";
    } else if (spec.type === "array" || spec.type === "object" || m.type === "json") {
      control = h("textarea", { name: key, rows: 3, spellcheck: false });
      kind = "json";
    } else {
      control = h("input", {
        type: m.type === "password" ? "password" : "text", name: key, maxlength: spec.maxLength,
        autocomplete: m.type === "password" ? "new-password" : "off", spellcheck: false,
        placeholder: m.placeholder,
      });
      kind = "string";
    }
    if (readOnly) control.disabled = true;
    control.dataset.kind = kind;
    let hint = m.hint || "";
    if (!hint && !m.options && (spec.minimum !== undefined || spec.maximum !== undefined) && kind !== "bool") {
      hint = `${spec.minimum ?? ""}–${spec.maximum ?? ""}${m.unit ? " " + m.unit : ""}`;
    } else if (m.unit && !hint) hint = m.unit;
    const wrap = field(label, control, hint || null);
    if (m.restart) wrap.append(h("small.hint.restart", "applies after a restart"));
    wrap.dataset.key = key;
    controls[key] = control;
    placed.add(key);
    return wrap;
  };
  const sets = [];
  for (const [legend, keys] of groups) {
    const present = keys.filter((k) => props[k] && !props[k].readOnly && !placed.has(k));
    if (!present.length) continue;
    sets.push(h("fieldset", h("legend", legend), h("div.grid-fields", present.map(make))));
  }
  const rest = Object.keys(props).filter((k) => !placed.has(k) && !props[k].readOnly);
  if (rest.length) sets.push(h("fieldset", h("legend", "Other"), h("div.grid-fields", rest.map(make))));

  const readValue = (key) => {
    const c = controls[key];
    switch (c.dataset.kind) {
      case "bool": return c.checked;
      case "int": return c.value === "" ? null : parseInt(c.value, 10);
      case "float": return c.value === "" ? null : Number(c.value);
      case "json": {
        if (!c.value.trim()) return [];
        try { return JSON.parse(c.value); } catch { throw new Error(`${key}: not valid JSON`); }
      }
      default: return c.value;
    }
  };
  return {
    element: h("div.schema-form", sets),
    controls,
    read() {
      const out = {};
      for (const key of Object.keys(controls)) out[key] = readValue(key);
      return out;
    },
    set(values) {
      for (const [key, c] of Object.entries(controls)) {
        if (!(key in values)) continue;
        const v = values[key];
        if (c.dataset.kind === "bool") c.checked = Boolean(v);
        else if (c.dataset.kind === "json") c.value = JSON.stringify(v ?? [], null, 1);
        else c.value = v ?? "";
      }
    },
  };
}

/** The keys whose value differs between `before` and `after` (JSON-compared). */
export function changed(before, after) {
  const out = {};
  for (const [k, v] of Object.entries(after)) {
    if (v === null) continue; // an emptied number field: leave the stored value alone
    if (JSON.stringify(before[k]) !== JSON.stringify(v)) out[k] = v;
  }
  return out;
}
