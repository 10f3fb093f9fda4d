// Inline SVG icons (no icon font: nothing to fetch, and no missing glyphs on any system).
const PATHS = {
  fullscreen: "M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5",
  camera: "M4 8h3l2-3h6l2 3h3v11H4zM12 17a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
  clock: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3 3",
  play: "M7 4l13 8-13 8z",
  download: "M12 4v11M7 10l5 5 5-5M5 20h14",
  lock: "M6 11h12v9H6zM8 11V8a4 4 0 0 1 8 0v3",
  unlock: "M6 11h12v9H6zM8 11V8a4 4 0 0 1 7.5-2",
  trash: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13",
  edit: "M4 20h4L19 9l-4-4L4 16zM13 7l4 4",
  zones: "M4 6l7-2 9 5-3 10-11-2z",
  refresh: "M20 11a8 8 0 1 0-2 6M20 4v7h-7",
  key: "M14 10a4 4 0 1 1-8 0 4 4 0 0 1 8 0zM14 10h7M18 10v3M21 10v3",
};

/** An <svg> icon; decorative (the button around it carries the label). */
export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", PATHS[name] || "");
  if (name === "play") path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}
