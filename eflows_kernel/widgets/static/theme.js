// eFlows task graph, front end. The files of static/ are concatenated, in the order
// graph_view.SCRIPTS lists them, into one ES module (anywidget's _esm): no CDN, no
// bundler. theme.js: states, colours from JupyterLab's CSS variables, shapes, formats.

const STATES = ["pending", "ready", "running", "done", "failed", "cancelled"];
const STATE = Object.fromEntries(STATES.map((s, i) => [s, i]));
// State by shape as well as by colour (legend, nodes, badges).
const STATE_SYMBOLS = {
  pending: "\u25CB", ready: "\u25C7", running: "\u25B6", done: "\u25CF", failed: "\u2715",
  cancelled: "\u2298", waiting: "\u25CB",
};
const FALLBACK = {
  pending: "#bdbdbd", ready: "#64b5f6", running: "#f57c00", done: "#388e3c",
  failed: "#d32f2f", cancelled: "#616161", bg: "#ffffff", panel: "#ffffff",
  edge: "#bdbdbd", text: "#212121", muted: "#757575", accent: "#1976d2",
};

let colourProbe = null;

// [r, g, b, a] (0-255) of any CSS colour, the browser's own parser.
function parseColour(css) {
  if (!colourProbe) {
    colourProbe = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  }
  colourProbe.clearRect(0, 0, 1, 1);
  colourProbe.fillStyle = "#000";
  colourProbe.fillStyle = css;
  colourProbe.fillRect(0, 0, 1, 1);
  return Array.from(colourProbe.getImageData(0, 0, 1, 1).data);
}

function blend(rgba, bg, alpha) {
  const a = (rgba[3] / 255) * alpha;
  return [0, 1, 2].map((i) => Math.round(rgba[i] * a + bg[i] * (1 - a)));
}

// A little-endian RGBA pixel for an ImageData's Uint32Array view.
function pixel(rgb) {
  return ((255 << 24) | (rgb[2] << 16) | (rgb[1] << 8) | rgb[0]) >>> 0;
}

function cssRgb(rgb) {
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

// Colours and fonts as the widget's element sees them: light or dark JupyterLab
// theme, Voila, or the fallbacks above anywhere else.
function readTheme(el) {
  const style = getComputedStyle(el);
  const get = (name, fallback) => (style.getPropertyValue(name) || "").trim() || fallback;
  const bgRgba = parseColour(get("--eflows-bg", FALLBACK.bg));
  const bg = bgRgba[3] < 255 ? blend(bgRgba, [255, 255, 255], 1) : bgRgba.slice(0, 3);
  const solid = (name, key) => blend(parseColour(get(name, FALLBACK[key])), bg, 1);
  const theme = { bg, css: {}, px: new Uint32Array(STATES.length),
                  dimPx: new Uint32Array(STATES.length), rgb: [] };
  STATES.forEach((s, i) => {
    const rgb = solid(`--eflows-${s}`, s);
    theme.rgb[i] = rgb;
    theme.css[s] = cssRgb(rgb);
    theme.px[i] = pixel(rgb);
    theme.dimPx[i] = pixel(blend([...rgb, 255], bg, 0.16));
  });
  theme.dimCss = STATES.map((s, i) => cssRgb(blend([...theme.rgb[i], 255], bg, 0.16)));
  for (const key of ["panel", "edge", "text", "muted", "accent"]) {
    theme[key] = cssRgb(solid(`--eflows-${key}`, key));
  }
  theme.bgCss = cssRgb(bg);
  theme.font = get("--eflows-font", "sans-serif");
  theme.mono = get("--eflows-mono", "monospace");
  theme.dark = (bg[0] + bg[1] + bg[2]) / 3 < 110;
  return theme;
}

// One state's mark, centred on (x, y), fitting a square of side s (canvas path).
function drawShape(ctx, state, x, y, s) {
  const r = s / 2;
  ctx.beginPath();
  switch (state) {
    case 0: // pending: a ring
      ctx.arc(x, y, r * 0.8, 0, 2 * Math.PI);
      ctx.lineWidth = Math.max(1, s / 6);
      ctx.stroke();
      return;
    case 1: // ready: a hollow diamond
      ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y);
      ctx.closePath();
      ctx.lineWidth = Math.max(1, s / 6);
      ctx.stroke();
      return;
    case 2: // running: a triangle pointing right
      ctx.moveTo(x - r * 0.8, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x - r * 0.8, y + r);
      ctx.closePath();
      ctx.fill();
      return;
    case 3: // done: a disc
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fill();
      return;
    case 4: // failed: a cross
      ctx.lineWidth = Math.max(1.5, s / 3.5);
      ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
      ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
      ctx.stroke();
      return;
    default: // cancelled: a slashed square
      ctx.lineWidth = Math.max(1, s / 6);
      ctx.rect(x - r * 0.85, y - r * 0.85, 1.7 * r, 1.7 * r);
      ctx.moveTo(x - r * 0.85, y + r * 0.85); ctx.lineTo(x + r * 0.85, y - r * 0.85);
      ctx.stroke();
  }
}

// The same mark as a small inline SVG (legend, table, details), coloured by CSS.
function shapeIcon(state, size = 12) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("viewBox", "-6 -6 12 12");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("eflows-icon", `eflows-fg-${STATES[state] || state}`);
  const add = (tag, attrs) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    svg.appendChild(node);
  };
  const stroke = { fill: "none", stroke: "currentColor", "stroke-width": "1.6" };
  const code = typeof state === "number" ? state : STATE[state];
  if (code === 0) add("circle", { r: "4.2", ...stroke });
  else if (code === 1) add("path", { d: "M0 -5 L5 0 L0 5 L-5 0 Z", ...stroke });
  else if (code === 2) add("path", { d: "M-4 -5 L5 0 L-4 5 Z", fill: "currentColor" });
  else if (code === 3) add("circle", { r: "5", fill: "currentColor" });
  else if (code === 4) add("path", { d: "M-4.5 -4.5 L4.5 4.5 M4.5 -4.5 L-4.5 4.5",
                                      fill: "none", stroke: "currentColor", "stroke-width": "2.4" });
  else add("path", { d: "M-4.5 -4.5 H4.5 V4.5 H-4.5 Z M-4.5 4.5 L4.5 -4.5", ...stroke });
  return svg;
}

function fmtInt(n) {
  return Number(n || 0).toLocaleString("en-US");
}

function fmtSeconds(s) {
  if (s === null || s === undefined || !isFinite(s)) return "\u2013";
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function fmtBytes(n) {
  if (!isFinite(n)) return "\u2013";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${units[i]}`;
}

function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}
