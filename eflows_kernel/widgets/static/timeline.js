// timeline.js: every attempt as a bar in its worker's row. It shows the whole run
// (and follows it while it grows) until the user zooms or drags; then the caption
// says which window it shows, and a double-click (or "0") brings the whole run back.

const GUTTER = 130;
const AXIS = 22;

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

class TimelineCanvas {
  constructor(store) {
    this.store = store;
    this.root = document.createElement("div");
    this.root.className = "eflows-timeline";
    this.caption = document.createElement("span");
    this.caption.className = "eflows-caption";
    this.caption.id = `eflows-timeline-${Math.random().toString(36).slice(2)}`;
    const button = (text, label, action) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.setAttribute("aria-label", label);
      b.title = label;
      b.addEventListener("click", () => { action(); this.request(); });
      return b;
    };
    this.buttons = document.createElement("span");
    this.buttons.className = "eflows-timeline-buttons";
    this.buttons.append(button("\u2212", "Timeline: zoom out", () => this.zoom(1 / 1.5)),
      button("+", "Timeline: zoom in", () => this.zoom(1.5)),
      button("\u25C0", "Timeline: earlier", () => this.move(-0.25)),
      button("\u25B6", "Timeline: later", () => this.move(0.25)));
    this.wholeButton = button("Whole run", "Timeline: show the whole run", () => { this.window = null; });
    this.buttons.append(this.wholeButton);
    const head = document.createElement("div");
    head.className = "eflows-timeline-head";
    head.append(this.caption, this.buttons);
    this.area = document.createElement("div");
    this.area.className = "eflows-timeline-area";
    this.area.tabIndex = 0;
    this.area.setAttribute("role", "application");
    this.area.setAttribute("aria-roledescription", "timeline");
    this.area.setAttribute("data-lm-suppress-shortcuts", "true");
    this.area.setAttribute("aria-describedby", this.caption.id);
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("aria-hidden", "true");
    this.area.appendChild(this.canvas);
    this.root.append(head, this.area);
    this.ctx = this.canvas.getContext("2d");
    this.window = null; // [from, to] in seconds since the origin, or null: the whole run
    this.w = 0; this.h = 0; this.dpr = 1;
    this.theme = null;
    this.lastDrawMs = 0;
    this.callbacks = { select: () => {}, hover: () => {}, hint: () => {} };
    this.bind();
  }

  resize(width) {
    const rows = Math.max(1, this.store.workers.length);
    const height = clamp(rows * 16 + AXIS + 6, 60, 240);
    const dpr = window.devicePixelRatio || 1;
    if (Math.max(200, width) === this.w && height === this.h && dpr === this.dpr) return false;
    this.w = Math.max(200, width); this.h = height; this.dpr = dpr;
    this.canvas.width = Math.round(this.w * dpr);
    this.canvas.height = Math.round(this.h * dpr);
    this.canvas.style.width = `${this.w}px`;
    this.canvas.style.height = `${this.h}px`;
    this.image = null;
    return true;
  }

  whole() {
    const s = this.store;
    const first = isFinite(s.firstStart) ? s.firstStart : 0;
    const end = Math.max(s.now(), s.lastEnd, first + 0.001);
    return [first, end];
  }

  range() {
    return this.window || this.whole();
  }

  describe() {
    const s = this.store;
    if (!s.na) return "Timeline (one row per worker): no task has run yet.";
    const [first, end] = this.whole();
    const total = fmtSeconds(end - first);
    if (!this.window) {
      return `Timeline (one row per worker): the whole run, 0 \u2013 ${total}. `
        + "Wheel (click first) or +/- zooms, drag or arrow keys move.";
    }
    const [a, b] = this.window;
    return `Timeline: showing ${fmtSeconds(Math.max(0, a - first))} \u2013 `
      + `${fmtSeconds(b - first)} of ${total}. Drag or arrow keys move it; `
      + "double-click or 0 shows the whole run.";
  }

  draw() {
    if (!this.theme || !this.w) return;
    const started = performance.now();
    this.drawBars();
    this.lastDrawMs = performance.now() - started;
  }

  drawBars() {
    const s = this.store;
    const th = this.theme;
    const ctx = this.ctx;
    const dpr = this.dpr;
    const W = this.canvas.width; const H = this.canvas.height;
    const text = this.describe();
    if (this.caption.textContent !== text) this.caption.textContent = text;
    if (this.wholeButton.hidden !== !this.window) this.wholeButton.hidden = !this.window;
    const rows = Math.max(1, s.workers.length);
    const rowH = Math.max(3, Math.floor((this.h - AXIS) / rows));
    const [w0, w1] = this.range();
    const plotW = this.w - GUTTER - 8;
    const k = plotW / Math.max(1e-9, w1 - w0);
    if (!this.image || this.image.width !== W || this.image.height !== H) {
      this.image = ctx.createImageData(W, H);
      this.pixels = new Uint32Array(this.image.data.buffer);
    }
    const buf = this.pixels;
    buf.fill(0);
    const a = s.a;
    const now = s.now();
    const left = Math.round(GUTTER * dpr);
    const right = Math.round((GUTTER + plotW) * dpr);
    const gap = rowH > 6 ? 2 : rowH > 3 ? 1 : 0;
    for (let i = 0; i < s.na; i++) {
      const worker = a.worker[i];
      if (worker < 0) continue;
      const start = a.started[i];
      let end = a.ended[i];
      if (!(end >= start)) end = now; // still running
      if (end < w0 || start > w1) continue;
      const xa = Math.max(left, Math.floor((GUTTER + (start - w0) * k) * dpr));
      const xb = Math.min(right, Math.max(xa + 1, Math.ceil((GUTTER + (end - w0) * k) * dpr)));
      const ya = Math.round(worker * rowH * dpr);
      const yb = Math.round(((worker + 1) * rowH - gap) * dpr);
      const colour = th.px[a.state[i]];
      for (let y = ya; y < yb && y < H; y++) {
        const row = y * W;
        for (let x = xa; x < xb; x++) buf[row + x] = colour;
      }
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.putImageData(this.image, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = th.text;
    ctx.font = `11px ${th.font}`;
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    if (rowH >= 9) {
      s.workers.forEach((name, r) => ctx.fillText(name, GUTTER - 6, r * rowH + rowH / 2, GUTTER - 10));
    } else {
      ctx.fillText(`${rows} workers`, GUTTER - 6, (rows * rowH) / 2, GUTTER - 10);
    }
    const first = this.whole()[0];
    const step = niceStep((w1 - w0) / Math.max(1, plotW / 90));
    const axisY = rows * rowH + 4;
    ctx.strokeStyle = th.edge;
    ctx.beginPath();
    ctx.moveTo(GUTTER, axisY); ctx.lineTo(GUTTER + plotW, axisY);
    ctx.stroke();
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.fillStyle = th.muted;
    for (let t = Math.ceil((w0 - first) / step) * step; first + t <= w1; t += step) {
      const x = GUTTER + (first + t - w0) * k;
      ctx.fillText(`${+t.toFixed(6)} s`, x, axisY + 4);
    }
  }

  hit(mx, my) {
    const s = this.store;
    const rows = Math.max(1, s.workers.length);
    const rowH = Math.max(3, Math.floor((this.h - AXIS) / rows));
    const row = Math.floor(my / rowH);
    if (mx < GUTTER || row < 0 || row >= rows) return -1;
    const [w0, w1] = this.range();
    const k = (this.w - GUTTER - 8) / Math.max(1e-9, w1 - w0);
    const t = w0 + (mx - GUTTER) / k;
    const slack = 2 / k;
    const now = s.now();
    for (let i = s.na - 1; i >= 0; i--) {
      if (s.a.worker[i] !== row) continue;
      const end = s.a.ended[i] >= s.a.started[i] ? s.a.ended[i] : now;
      if (s.a.started[i] - slack <= t && t <= end + slack) return s.a.task[i];
    }
    return -1;
  }

  zoom(factor, mx = GUTTER + (this.w - GUTTER) / 2) {
    const [w0, w1] = this.range();
    const k = (this.w - GUTTER - 8) / Math.max(1e-9, w1 - w0);
    const t = w0 + (mx - GUTTER) / k;
    const span = Math.max(1e-3, (w1 - w0) / factor);
    const [first, end] = this.whole();
    if (span >= end - first) { this.window = null; return; }
    const from = t - ((t - w0) / (w1 - w0)) * span;
    this.window = [from, from + span];
  }

  move(fraction) {
    const [w0, w1] = this.range();
    const d = (w1 - w0) * fraction;
    this.window = [w0 + d, w1 + d];
  }

  bind() {
    const area = this.area;
    bindPointer(area, {
      axis: "x",
      drag: (dx) => this.move(-dx / Math.max(1, this.w - GUTTER - 8)),
      hover: (mx, my) => this.callbacks.hover(this.hit(mx, my), mx, my),
      click: (mx, my) => {
        const task = this.hit(mx, my);
        if (task >= 0) this.callbacks.select(task);
      },
      leave: () => this.callbacks.hover(-1, 0, 0),
      wheel: (e, mx) => this.zoom(Math.exp(-e.deltaY * 0.0015), mx),
      hint: () => this.callbacks.hint("Click the timeline (or hold Ctrl) to zoom with the wheel"),
      keys: {
        ArrowLeft: () => this.move(-0.25), ArrowRight: () => this.move(0.25),
        "+": () => this.zoom(1.5), "=": () => this.zoom(1.5), "-": () => this.zoom(1 / 1.5),
        0: () => { this.window = null; },
      },
      after: () => this.request(),
    });
    area.addEventListener("dblclick", () => { this.window = null; this.request(); });
  }

  request() { // as DagCanvas.request (frames.js)
    requestDraw(this);
  }

  setVisible(visible) {
    setPartVisible(this, visible);
  }
}
