// dag_paint.js: how the DAG is drawn, for DagCanvas (dag.js). Small nodes are written
// straight into an ImageData (100,000 of them in a few ms on a software renderer);
// close up, each state gets its shape and nodes get labels; edges that would share
// their pixels are drawn once.

const EDGE_DEDUPE = 20000; // above this many edges on screen: one line per pixel pair
const VECTOR_NODES = 6000; // at most this many nodes drawn as shapes
const LABELS = 1500;
const BOX_W = 170;
const BOX_H = 52;

class DagPainter {
  constructor(dag) {
    this.dag = dag;
  }

  drawTasks() {
    const d = this.dag;
    const s = d.store;
    const th = d.theme;
    const dpr = d.dpr;
    const { sx, sy, tx, ty } = d.view;
    const { x, layer } = s.t;
    const count = d.collectVisible();
    const size = d.nodeSize();
    const hl = d.highlighter();
    this.drawEdges();
    const nctx = d.nctx;
    nctx.setTransform(1, 0, 0, 1, 0, 0);
    nctx.clearRect(0, 0, d.nodeCanvas.width, d.nodeCanvas.height);
    const vector = Math.min(size.w, size.h) >= 5 && count <= VECTOR_NODES;
    if (vector) this.drawShapes(count, size, hl);
    else this.drawPixels(count, size, hl);
    nctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (vector && Math.min(size.w, size.h) >= 12) this.drawLabels(count, size);
    for (const [i, colour, width] of [[d.hover, th.muted, 1.5], [d.selected, th.accent, 2.5]]) {
      if (i < 0 || i >= s.n || !d.shown(i)) continue;
      nctx.strokeStyle = colour;
      nctx.lineWidth = width;
      nctx.beginPath();
      nctx.arc(x[i] * sx + tx, layer[i] * sy + ty, Math.max(size.w, size.h) / 2 + 4, 0, 2 * Math.PI);
      nctx.stroke();
    }
  }

  drawPixels(count, size, hl) {
    const d = this.dag;
    const s = d.store;
    const th = d.theme;
    const W = d.nodeCanvas.width; const H = d.nodeCanvas.height;
    if (!this.image || this.image.width !== W || this.image.height !== H) {
      this.image = d.nctx.createImageData(W, H);
      this.pixels = new Uint32Array(this.image.data.buffer);
    }
    const buf = this.pixels;
    buf.fill(0);
    const dpr = d.dpr;
    const { sx, sy, tx, ty } = d.view;
    const { x, layer, state } = s.t;
    const wd = Math.max(1, Math.round(size.w * dpr));
    const hd = Math.max(1, Math.round(size.h * dpr));
    const vis = d.visible;
    for (let pass = hl ? 0 : 1; pass < 2; pass++) {
      for (let k = 0; k < count; k++) {
        const i = vis[k];
        const on = !hl || hl(i);
        if ((pass === 1) !== on) continue;
        const colour = on ? th.px[state[i]] : th.dimPx[state[i]];
        const px0 = Math.round((x[i] * sx + tx) * dpr - wd / 2);
        const py0 = Math.round((layer[i] * sy + ty) * dpr - hd / 2);
        const xa = Math.max(0, px0); const xb = Math.min(W, px0 + wd);
        const ya = Math.max(0, py0); const yb = Math.min(H, py0 + hd);
        for (let yy = ya; yy < yb; yy++) {
          const row = yy * W;
          for (let xx = xa; xx < xb; xx++) buf[row + xx] = colour;
        }
      }
    }
    d.nctx.putImageData(this.image, 0, 0);
  }

  drawShapes(count, size, hl) {
    const d = this.dag;
    const s = d.store;
    const th = d.theme;
    const ctx = d.nctx;
    const { sx, sy, tx, ty } = d.view;
    const { x, layer, state } = s.t;
    ctx.setTransform(d.dpr, 0, 0, d.dpr, 0, 0);
    const side = Math.min(size.w, size.h);
    const vis = d.visible;
    for (let pass = hl ? 0 : 1; pass < 2; pass++) {
      for (let st = 0; st < STATES.length; st++) {
        const colour = pass === 1 ? th.css[STATES[st]] : th.dimCss[st];
        ctx.fillStyle = colour;
        ctx.strokeStyle = colour;
        for (let k = 0; k < count; k++) {
          const i = vis[k];
          if (state[i] !== st) continue;
          const on = !hl || hl(i);
          if ((pass === 1) !== on) continue;
          drawShape(ctx, st, x[i] * sx + tx, layer[i] * sy + ty, side);
        }
      }
    }
  }

  drawLabels(count, size) {
    const d = this.dag;
    const s = d.store;
    const ctx = d.nctx;
    const { sx, sy, tx, ty } = d.view;
    const { x, layer, id } = s.t;
    ctx.fillStyle = d.theme.text;
    ctx.font = `11px ${d.theme.font}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const withId = sx >= 60;
    const room = Math.max(16, sx - 6);
    const n = Math.min(count, LABELS);
    for (let k = 0; k < n; k++) {
      const i = d.visible[k];
      const name = s.functionName(i);
      const label = this.fitText(ctx, withId ? `#${id[i]} ${name}` : name, room);
      ctx.fillText(label, x[i] * sx + tx, layer[i] * sy + ty + size.h / 2 + 3);
    }
  }

  // ``text`` cut to ``room`` pixels with an ellipsis (measured once per text and width).
  fitText(ctx, text, room) {
    const key = `${Math.round(room)}|${ctx.font}|${text}`;
    const cache = this.fitted || (this.fitted = new Map());
    let out = cache.get(key);
    if (out !== undefined) return out;
    out = text;
    if (ctx.measureText(text).width > room) {
      let lo = 0; let hi = text.length;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (ctx.measureText(`${text.slice(0, mid)}\u2026`).width <= room) lo = mid; else hi = mid - 1;
      }
      out = lo ? `${text.slice(0, lo)}\u2026` : "";
    }
    if (cache.size > 20000) cache.clear();
    cache.set(key, out);
    return out;
  }

  drawEdges() {
    const d = this.dag;
    const s = d.store;
    const ctx = d.ectx;
    const dpr = d.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, d.edgeCanvas.width, d.edgeCanvas.height);
    const { sx, sy, tx, ty } = d.view;
    const { x, layer, fn } = s.t;
    const src = s.e.source; const dst = s.e.target;
    const W = d.edgeCanvas.width; const H = d.edgeCanvas.height;
    const focus = d.focusFn;
    if (!this.segments || this.segments.length < 4 * s.ne) this.segments = new Float32Array(4 * s.ne + 4096);
    const seg = this.segments;
    let n = 0;
    const ksx = sx * dpr; const ksy = sy * dpr; const ktx = tx * dpr; const kty = ty * dpr;
    for (let k = 0; k < s.ne; k++) {
      const a = src[k]; const b = dst[k];
      if (focus >= 0 && (fn[a] !== focus || fn[b] !== focus)) continue;
      const ax = x[a] * ksx + ktx; const ay = layer[a] * ksy + kty;
      const bx = x[b] * ksx + ktx; const by = layer[b] * ksy + kty;
      if ((ax < 0 && bx < 0) || (ax > W && bx > W) || (ay < 0 && by < 0) || (ay > H && by > H)) continue;
      seg[n] = ax; seg[n + 1] = ay; seg[n + 2] = bx; seg[n + 3] = by;
      n += 4;
    }
    ctx.strokeStyle = d.theme.edge;
    ctx.lineWidth = dpr;
    ctx.beginPath();
    if (n / 4 > EDGE_DEDUPE) { // many edges share their pixels: draw each pixel pair once
      const seen = this.seen || (this.seen = new Set());
      seen.clear();
      for (let k = 0; k < n; k += 4) {
        const key = ((clamp(seg[k] | 0, -1, 8190) + 1) * 8192 + (clamp(seg[k + 2] | 0, -1, 8190) + 1))
          * 4096 + ((seg[k + 1] | 0) & 2047) * 2 + ((seg[k + 3] | 0) & 1);
        if (seen.has(key)) continue;
        seen.add(key);
        ctx.moveTo(seg[k], seg[k + 1]);
        ctx.lineTo(seg[k + 2], seg[k + 3]);
      }
    } else {
      for (let k = 0; k < n; k += 4) {
        ctx.moveTo(seg[k], seg[k + 1]);
        ctx.lineTo(seg[k + 2], seg[k + 3]);
      }
    }
    ctx.stroke();
    const sel = d.selected;
    if (sel >= 0 && sel < s.n) { // the selected task's dependencies and successors
      ctx.strokeStyle = d.theme.accent;
      ctx.lineWidth = 2 * dpr;
      ctx.beginPath();
      for (let k = 0; k < s.ne; k++) {
        if (src[k] !== sel && dst[k] !== sel) continue;
        ctx.moveTo(x[src[k]] * ksx + ktx, layer[src[k]] * ksy + kty);
        ctx.lineTo(x[dst[k]] * ksx + ktx, layer[dst[k]] * ksy + kty);
      }
      ctx.stroke();
    }
  }

  drawFunctions() {
    const d = this.dag;
    const s = d.store;
    const th = d.theme;
    const { sx, sy, tx, ty } = d.view;
    const dpr = d.dpr;
    const ectx = d.ectx;
    const ctx = d.nctx;
    ectx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ectx.clearRect(0, 0, d.w, d.h);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, d.w, d.h);
    const byName = new Map(s.functions.map((f, i) => [f.name, i]));
    ectx.strokeStyle = th.edge;
    ectx.lineWidth = 1.5;
    ectx.beginPath();
    for (const f of s.functions) {
      for (const dep of f.deps) {
        const g = s.functions[byName.get(dep)];
        if (!g) continue;
        ectx.moveTo(g.x * sx + tx, g.layer * sy + ty + BOX_H / 2);
        ectx.lineTo(f.x * sx + tx, f.layer * sy + ty - BOX_H / 2);
      }
    }
    ectx.stroke();
    const q = d.query.trim().toLowerCase();
    s.functions.forEach((f, i) => {
      const cx = f.x * sx + tx; const cy = f.layer * sy + ty;
      const left = cx - BOX_W / 2; const top = cy - BOX_H / 2;
      const code = STATE[f.state];
      const dim = (q && !f.name.toLowerCase().includes(q))
        || (d.filter === "failed" && !f.counts[4]) || (d.filter === "running" && !f.counts[2]);
      ctx.globalAlpha = dim ? 0.3 : 1;
      ctx.fillStyle = th.panel;
      ctx.strokeStyle = th.css[f.state];
      ctx.lineWidth = i === d.selected ? 3.5 : 2;
      ctx.beginPath();
      ctx.roundRect(left, top, BOX_W, BOX_H, 6);
      ctx.fill();
      ctx.stroke();
      ctx.fillStyle = th.css[f.state];
      ctx.strokeStyle = th.css[f.state];
      drawShape(ctx, code, left + 13, top + 14, 10);
      ctx.fillStyle = th.text;
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.font = `bold 12px ${th.font}`;
      ctx.fillText(this.fitText(ctx, f.name, BOX_W - 30), left + 24, top + 14);
      ctx.font = `11px ${th.font}`;
      const done = f.counts[3]; const failed = f.counts[4];
      ctx.fillText(`${fmtInt(done + failed + f.counts[5])}/${fmtInt(f.total)}`
        + (failed ? ` \u00b7 ${fmtInt(failed)} failed` : ""), left + 8, top + 31, BOX_W - 16);
      let bx = left + 8; // the function's state mix
      const bw = BOX_W - 16;
      for (const st of [3, 4, 5, 2, 1, 0]) {
        const w = f.total ? (f.counts[st] / f.total) * bw : 0;
        if (w <= 0) continue;
        ctx.fillStyle = th.css[STATES[st]];
        ctx.fillRect(bx, top + BOX_H - 11, w, 5);
        bx += w;
      }
      ctx.globalAlpha = 1;
    });
  }
}
