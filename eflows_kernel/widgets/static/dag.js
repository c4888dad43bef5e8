// dag.js: the task graph on two stacked canvases, edges below, nodes above: what is
// shown (mode, drill-down, filter, search), the view (fit, pan, zoom), hit tests and
// input. The drawing itself is DagPainter's (dag_paint.js).

class DagCanvas {
  constructor(store) {
    this.store = store;
    this.root = document.createElement("div");
    this.root.className = "eflows-dag";
    this.root.tabIndex = 0;
    this.root.setAttribute("role", "application");
    this.root.setAttribute("aria-roledescription", "task graph");
    // Keys pressed here are the graph's, not JupyterLab's notebook shortcuts ("0 0"!).
    this.root.setAttribute("data-lm-suppress-shortcuts", "true");
    this.edgeCanvas = document.createElement("canvas");
    this.nodeCanvas = document.createElement("canvas");
    for (const c of [this.edgeCanvas, this.nodeCanvas]) {
      c.setAttribute("aria-hidden", "true");
      this.root.appendChild(c);
    }
    this.ectx = this.edgeCanvas.getContext("2d");
    this.nctx = this.nodeCanvas.getContext("2d");
    this.mode = "tasks"; // or "functions"
    this.focusFn = -1; // drilled into one function's tasks
    this.filter = "all"; // "running", "failed"
    this.query = "";
    this.view = { sx: 1, sy: 1, tx: 0, ty: 0 };
    this.fitted = true; // follow the growing graph until the user moves it
    this.selected = -1;
    this.hover = -1;
    this.w = 0; this.h = 0; this.dpr = 1;
    this.theme = null;
    this.callbacks = { select: () => {}, drill: () => {}, hover: () => {}, hint: () => {} };
    this.visible = new Int32Array(0);
    this.nVisible = 0;
    this.frames = 0;
    this.lastDrawMs = 0;
    this.painter = new DagPainter(this);
    this.bind();
  }

  // -- what is shown ------------------------------------------------------------------
  highlighter() {
    const s = this.store;
    const state = s.t.state;
    const wanted = this.filter === "running" ? 2 : this.filter === "failed" ? 4 : -1;
    const q = this.query.trim().toLowerCase();
    let fnMatch = null;
    let idMatch = -1;
    if (q) {
      const asId = q.replace(/^#/, "");
      if (/^\d+$/.test(asId)) idMatch = Number(asId);
      fnMatch = new Uint8Array(s.functions.length);
      s.functions.forEach((f, i) => { fnMatch[i] = f.name.toLowerCase().includes(q) ? 1 : 0; });
    }
    const fn = s.t.fn;
    const id = s.t.id;
    if (wanted < 0 && !q) return null; // everything
    return (i) => (wanted < 0 || state[i] === wanted)
      && (!q || fnMatch[fn[i]] === 1 || id[i] === idMatch);
  }

  shown(i) {
    return this.focusFn < 0 || this.store.t.fn[i] === this.focusFn;
  }

  // Indices (into the store) of what a "next" / "previous" walks through.
  highlighted() {
    const s = this.store;
    const hl = this.highlighter();
    const out = [];
    for (let i = 0; i < s.n; i++) {
      if (this.shown(i) && (hl ? hl(i) : s.t.state[i] === 4)) out.push(i);
    }
    return out;
  }

  // -- geometry -----------------------------------------------------------------------
  resize(width, height) {
    const dpr = window.devicePixelRatio || 1;
    if (width === this.w && height === this.h && dpr === this.dpr) return false;
    this.w = Math.max(50, width); this.h = Math.max(50, height); this.dpr = dpr;
    for (const c of [this.edgeCanvas, this.nodeCanvas]) {
      c.width = Math.round(this.w * dpr);
      c.height = Math.round(this.h * dpr);
      c.style.width = `${this.w}px`;
      c.style.height = `${this.h}px`;
    }
    this.root.style.height = `${this.h}px`;
    if (this.painter) this.painter.image = null;
    return true;
  }

  bounds() {
    const s = this.store;
    let x0 = Infinity; let x1 = -Infinity; let l0 = Infinity; let l1 = -Infinity;
    if (this.mode === "functions") {
      for (const f of s.functions) {
        x0 = Math.min(x0, f.x); x1 = Math.max(x1, f.x);
        l0 = Math.min(l0, f.layer); l1 = Math.max(l1, f.layer);
      }
    } else {
      const { x, layer } = s.t;
      for (let i = 0; i < s.n; i++) {
        if (!this.shown(i)) continue;
        if (x[i] < x0) x0 = x[i];
        if (x[i] > x1) x1 = x[i];
        if (layer[i] < l0) l0 = layer[i];
        if (layer[i] > l1) l1 = layer[i];
      }
    }
    return x0 === Infinity ? null : { x0, x1, l0, l1 };
  }

  // The height the graph needs at its largest zoom, up to maxHeight: a small graph
  // does not sit in a tall empty box.
  preferredHeight(maxHeight) {
    const b = this.bounds();
    if (!b) return Math.min(maxHeight, 140);
    const boxes = this.mode === "functions";
    const need = (b.l1 - b.l0) * (boxes ? 110 : 64) + (boxes ? BOX_H + 16 : 42);
    return Math.round(clamp(need, 140, maxHeight));
  }

  fit(redraw = true) {
    const b = this.bounds();
    this.fitted = true;
    if (b) {
      const boxes = this.mode === "functions";
      const padX = boxes ? BOX_W / 2 + 12 : 16;
      const padTop = boxes ? BOX_H / 2 + 8 : 14;
      const padBottom = boxes ? BOX_H / 2 + 8 : 28;
      const maxSx = boxes ? 230 : 46;
      const maxSy = boxes ? 110 : 64;
      const xs = b.x1 - b.x0;
      const ls = b.l1 - b.l0;
      const sx = xs > 0 ? Math.min(maxSx, (this.w - 2 * padX) / xs) : maxSx;
      const sy = ls > 0 ? Math.min(maxSy, (this.h - padTop - padBottom) / ls) : maxSy;
      this.view = {
        sx, sy, tx: this.w / 2 - ((b.x0 + b.x1) / 2) * sx,
        ty: ls > 0 ? padTop - b.l0 * sy : this.h / 2 - b.l0 * sy,
      };
    }
    if (redraw) this.draw();
  }

  zoom(factor, cx = this.w / 2, cy = this.h / 2) {
    const v = this.view;
    const f = clamp(v.sx * factor, 1e-5, 600) / v.sx;
    v.sx *= f; v.sy *= f;
    v.tx = cx - (cx - v.tx) * f;
    v.ty = cy - (cy - v.ty) * f;
    this.fitted = false;
  }

  pan(dx, dy) {
    this.view.tx += dx; this.view.ty += dy;
    this.fitted = false;
  }

  centreOn(i) {
    const { x, layer } = this.store.t;
    const v = this.view;
    if (v.sx < 12) this.zoom(12 / v.sx);
    v.tx = this.w / 2 - x[i] * v.sx;
    v.ty = this.h / 2 - layer[i] * v.sy;
    this.fitted = false;
  }

  nodeSize() { // thin nodes of a wide layer stay short: a band, not a comb
    const v = this.view;
    const w = clamp(v.sx * 0.6, 1, 22);
    return { w, h: clamp(Math.min(v.sy * 0.42, Math.max(3, w * 1.5)), 1, 22) };
  }

  // -- drawing ------------------------------------------------------------------------
  draw() {
    if (!this.theme || !this.w) return;
    const started = performance.now();
    if (this.fitted) this.fit(false);
    if (this.mode === "functions") this.painter.drawFunctions();
    else this.painter.drawTasks();
    this.frames += 1;
    this.lastDrawMs = performance.now() - started;
  }

  collectVisible() {
    const s = this.store;
    const n = s.n;
    if (this.visible.length < n) this.visible = new Int32Array(Math.max(1024, n * 2));
    const { sx, sy, tx, ty } = this.view;
    const { x, layer } = s.t;
    const mx = 24; // px margin: nodes partly inside still show
    const wx0 = (-mx - tx) / sx; const wx1 = (this.w + mx - tx) / sx;
    const wl0 = (-mx - ty) / sy; const wl1 = (this.h + mx - ty) / sy;
    const vis = this.visible;
    let count = 0;
    const focus = this.focusFn;
    const fn = s.t.fn;
    const zoomedIn = n > 20000 && (wx1 - wx0) * (wl1 - wl0) < 0.3 * this.worldArea(s);
    if (zoomedIn) {
      const idx = s.layerIndex();
      const first = Math.max(0, Math.floor(wl0));
      const last = Math.min(idx.maxLayer, Math.ceil(wl1));
      for (let l = first; l <= last; l++) {
        const hi = s.lowerBound(l, wx1);
        for (let p = s.lowerBound(l, wx0); p < hi; p++) {
          const i = idx.order[p];
          if (focus < 0 || fn[i] === focus) vis[count++] = i;
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const xi = x[i]; const li = layer[i];
        if (xi < wx0 || xi > wx1 || li < wl0 || li > wl1) continue;
        if (focus < 0 || fn[i] === focus) vis[count++] = i;
      }
    }
    this.nVisible = count;
    return count;
  }

  worldArea(s) {
    if (!this._area || this._areaVersion !== s.version) {
      const b = this.bounds();
      this._area = b ? Math.max(1, (b.x1 - b.x0 + 1) * (b.l1 - b.l0 + 1)) : 1;
      this._areaVersion = s.version;
    }
    return this._area;
  }

  // -- hit tests ----------------------------------------------------------------------
  hitTask(mx, my) {
    const s = this.store;
    if (!s.n) return -1;
    const { sx, sy, tx, ty } = this.view;
    const size = this.nodeSize();
    const radius = Math.max(7, Math.max(size.w, size.h) / 2 + 3);
    const { x, layer } = s.t;
    let best = -1; let bestD = radius * radius;
    const test = (i) => {
      if (!this.shown(i)) return;
      const dx = x[i] * sx + tx - mx; const dy = layer[i] * sy + ty - my;
      const d = dx * dx + dy * dy;
      if (d <= bestD) { bestD = d; best = i; }
    };
    if (s.n <= 5000) {
      for (let i = 0; i < s.n; i++) test(i);
      return best;
    }
    const idx = s.layerIndex();
    const l0 = Math.max(0, Math.floor((my - radius - ty) / sy));
    const l1 = Math.min(idx.maxLayer, Math.ceil((my + radius - ty) / sy), l0 + 60);
    for (let l = l0; l <= l1; l++) {
      const hi = s.lowerBound(l, (mx + radius - tx) / sx);
      for (let p = s.lowerBound(l, (mx - radius - tx) / sx); p < hi; p++) test(idx.order[p]);
    }
    return best;
  }

  hitFunction(mx, my) {
    const { sx, sy, tx, ty } = this.view;
    const fns = this.store.functions;
    for (let i = fns.length - 1; i >= 0; i--) {
      const cx = fns[i].x * sx + tx; const cy = fns[i].layer * sy + ty;
      if (Math.abs(mx - cx) <= BOX_W / 2 && Math.abs(my - cy) <= BOX_H / 2) return i;
    }
    return -1;
  }

  hit(mx, my) {
    return this.mode === "functions" ? this.hitFunction(mx, my) : this.hitTask(mx, my);
  }

  // -- input --------------------------------------------------------------------------
  bind() {
    const root = this.root;
    const step = 0.125;
    bindPointer(root, {
      drag: (dx, dy) => this.pan(dx, dy),
      hover: (mx, my) => {
        const i = this.hit(mx, my);
        if (i !== this.hover) {
          this.hover = i;
          this.request();
        }
        this.callbacks.hover(i, mx, my);
      },
      click: (mx, my) => this.activate(this.hit(mx, my)),
      leave: () => {
        if (this.hover >= 0) { this.hover = -1; this.request(); }
        this.callbacks.hover(-1, 0, 0);
      },
      wheel: (e, mx, my) => this.zoom(Math.exp(-e.deltaY * 0.0015), mx, my),
      hint: () => this.callbacks.hint("Click the graph (or hold Ctrl) to zoom with the wheel"),
      keys: {
        ArrowLeft: () => this.pan(this.w * step, 0),
        ArrowRight: () => this.pan(-this.w * step, 0),
        ArrowUp: () => this.pan(0, this.h * step),
        ArrowDown: () => this.pan(0, -this.h * step),
        "+": () => this.zoom(1.25), "=": () => this.zoom(1.25), "-": () => this.zoom(0.8),
        0: () => this.fit(false), f: () => this.fit(false),
        n: () => this.walk(1), p: () => this.walk(-1),
        Enter: () => this.activate(this.hover >= 0 ? this.hover : this.selected),
        Escape: () => {
          if (this.selected >= 0) this.activate(-1);
          else if (this.focusFn >= 0) this.callbacks.drill(-1);
        },
      },
      after: () => this.request(),
    });
    root.addEventListener("dblclick", () => this.fit());
  }

  // Select the next (or previous) task of interest: what the search or filter
  // highlights, else the failed ones.
  walk(direction) {
    if (this.mode === "functions") return;
    const list = this.highlighted();
    if (!list.length) {
      this.callbacks.hint(this.query || this.filter !== "all" ? "No task matches"
        : "No failed task; search or filter to pick tasks to walk through");
      return;
    }
    let at = list.indexOf(this.selected);
    at = at < 0 ? (direction > 0 ? 0 : list.length - 1) : (at + direction + list.length) % list.length;
    this.centreOn(list[at]);
    this.activate(list[at]);
  }

  activate(i) {
    if (this.mode === "functions") {
      if (i >= 0) this.callbacks.drill(i);
      return;
    }
    this.selected = i;
    this.callbacks.select(i);
    this.request();
  }

  // Redraw at the next frame with room (frames.js); off screen, once it is back.
  request() {
    requestDraw(this);
  }

  setVisible(visible) {
    setPartVisible(this, visible);
  }
}
