// store.js: the front end's copy of the graph model, in growable typed arrays,
// brought up to date by the kernel's binary messages (see graph_wire.py).

const TASK_FIELDS = {
  id: Int32Array, layer: Int32Array, x: Float32Array, fn: Int32Array, state: Uint8Array,
  attempt: Uint8Array, worker: Int32Array, started: Float32Array, ended: Float32Array,
};
const ATTEMPT_FIELDS = {
  task: Int32Array, worker: Int32Array, started: Float32Array, ended: Float32Array,
  state: Uint8Array,
};
const ARRAYS = { int32: Int32Array, float32: Float32Array, uint8: Uint8Array };

function grow(columns, fields, needed) {
  const old = columns.cap || 0;
  if (needed <= old) return;
  let cap = Math.max(1024, old);
  while (cap < needed) cap *= 2;
  for (const [name, Type] of Object.entries(fields)) {
    const next = new Type(cap);
    if (columns[name]) next.set(columns[name].subarray(0, old));
    columns[name] = next;
  }
  columns.cap = cap;
}

// A fresh, aligned copy of a message buffer (a DataView, a typed array or an
// ArrayBuffer, depending on the front end).
function asBytes(data) {
  if (!data) return new Uint8Array(0);
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  return new Uint8Array(0);
}

class GraphStore {
  constructor() {
    this.seq = 0; // the kernel's message the store is up to date with (0: empty)
    this.n = 0;
    this.t = { cap: 0 };
    this.na = 0;
    this.a = { cap: 0 };
    this.ne = 0;
    this.e = { cap: 0 };
    this.functions = [];
    this.workers = [];
    this.errors = new Map(); // task index -> first line of its error
    this.failures = new Map(); // task index -> {error, stdout, stderr} pushed unasked
    this.details = new Map(); // task index -> details asked for
    this.header = { status: "waiting", counts: [0, 0, 0, 0, 0, 0], total: 0, finished: 0 };
    this.origin = null;
    this.clockOffset = 0; // kernel clock - browser clock (seconds)
    this.firstStart = Infinity; // earliest attempt start (seconds from origin)
    this.lastEnd = -Infinity;
    this.listeners = new Set();
    this.version = 0;
    this.layers = null; // per layer, task indices sorted by x (built when needed)
    this.selectedFromKernel = null;
  }

  onChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(what) {
    this.version += 1;
    for (const listener of this.listeners) listener(what);
  }

  // A message from the kernel: applied when it continues what the store has.
  accept(meta, data) {
    if (!meta || !meta.columns) return "empty";
    if (meta.kind === "snapshot") {
      if (meta.seq < this.seq) return "stale";
    } else {
      if (meta.seq <= this.seq) return "stale";
      if (meta.base > this.seq) return "gap"; // missed a message: wait for a snapshot
    }
    const bytes = asBytes(data);
    const col = (name) => {
      const spec = meta.columns[name];
      if (!spec) return null;
      const [dtype, offset, length] = spec;
      return new ARRAYS[dtype](bytes.buffer, offset, length);
    };
    if (meta.kind === "snapshot") this.reset();
    this.origin = meta.origin;
    const before = this.n;
    this.applyTasks(col);
    this.applyEdges(col, before);
    this.applyAttempts(col);
    this.functions = meta.functions || this.functions;
    this.workers = meta.workers || this.workers;
    for (const [k, v] of Object.entries(meta.errors || {})) this.errors.set(Number(k), v);
    for (const [k, v] of Object.entries(meta.failures || {})) this.failures.set(Number(k), v);
    if (meta.header) this.takeHeader(meta.header);
    if (meta.selected) this.setDetails(meta.selected, true);
    this.seq = meta.seq;
    this.emit(meta.kind);
    return "applied";
  }

  // The header, unless the store has a newer one: header-only messages come between
  // deltas, and a snapshot from the widget's state can arrive after them.
  takeHeader(header) {
    if (this.header.now !== undefined && header.now < this.header.now) return false;
    this.header = header;
    this.clockOffset = header.now - Date.now() / 1000;
    return true;
  }

  // A header-only message (see graph_view.py): the counts between two deltas.
  acceptHeader(msg) {
    if (!msg.header || msg.seq < this.seq || !this.takeHeader(msg.header)) return;
    this.emit("header");
  }

  reset() {
    this.n = 0; this.na = 0; this.ne = 0;
    this.errors.clear(); this.failures.clear();
    this.firstStart = Infinity; this.lastEnd = -Infinity;
    this.layers = null;
  }

  applyTasks(col) {
    const index = col("task_index");
    if (!index || !index.length) return;
    let max = this.n;
    for (let i = 0; i < index.length; i++) if (index[i] >= max) max = index[i] + 1;
    grow(this.t, TASK_FIELDS, max);
    const src = {};
    for (const name of Object.keys(TASK_FIELDS)) src[name] = col(`task_${name}`);
    const t = this.t;
    let added = false;
    for (let i = 0; i < index.length; i++) {
      const k = index[i];
      if (k >= this.n) added = true;
      for (const name in TASK_FIELDS) t[name][k] = src[name][i];
    }
    if (added) this.layers = null;
    this.n = Math.max(this.n, max);
  }

  applyEdges(col, before) {
    const source = col("edge_source");
    const target = col("edge_target");
    if (!source || !source.length) return;
    grow(this.e, { source: Int32Array, target: Int32Array }, this.ne + source.length);
    for (let i = 0; i < source.length; i++) {
      if (target[i] < before) continue; // already had it (a delta over a snapshot)
      this.e.source[this.ne] = source[i];
      this.e.target[this.ne] = target[i];
      this.ne += 1;
    }
  }

  applyAttempts(col) {
    const index = col("attempt_index");
    if (!index || !index.length) return;
    let max = this.na;
    for (let i = 0; i < index.length; i++) if (index[i] >= max) max = index[i] + 1;
    grow(this.a, ATTEMPT_FIELDS, max);
    const src = {};
    for (const name of Object.keys(ATTEMPT_FIELDS)) src[name] = col(`attempt_${name}`);
    for (let i = 0; i < index.length; i++) {
      const k = index[i];
      for (const name in ATTEMPT_FIELDS) this.a[name][k] = src[name][i];
      const started = src.started[i];
      const ended = src.ended[i];
      if (started < this.firstStart) this.firstStart = started;
      if (ended > this.lastEnd) this.lastEnd = ended;
    }
    this.na = Math.max(this.na, max);
  }

  setDetails(details, fromKernel = false) {
    this.details.set(details.index, details);
    if (fromKernel) this.selectedFromKernel = details.index;
    this.emit("details");
  }

  // Seconds since the origin, on the kernel's clock (live runs grow their bars).
  now() {
    if (this.header.ended_at) return this.header.ended_at - this.origin;
    if (this.header.status !== "running" && this.header.status !== "waiting") {
      return Math.max(this.lastEnd, (this.header.last_ts || this.origin) - this.origin);
    }
    return Date.now() / 1000 + this.clockOffset - this.origin;
  }

  // Task indices per layer, sorted by x: for culling and hit tests on big graphs.
  layerIndex() {
    if (this.layers) return this.layers;
    const n = this.n;
    const layer = this.t.layer;
    const x = this.t.x;
    let maxLayer = 0;
    for (let i = 0; i < n; i++) if (layer[i] > maxLayer) maxLayer = layer[i];
    const start = new Int32Array(maxLayer + 2);
    for (let i = 0; i < n; i++) start[layer[i] + 1] += 1;
    for (let l = 0; l <= maxLayer; l++) start[l + 1] += start[l];
    const fill = start.slice(0, maxLayer + 1);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[fill[layer[i]]++] = i;
    for (let l = 0; l <= maxLayer; l++) {
      order.subarray(start[l], start[l + 1]).sort((p, q) => x[p] - x[q]);
    }
    this.layers = { start, order, maxLayer };
    return this.layers;
  }

  // First position in layer l's sorted slice whose x is >= value.
  lowerBound(l, value) {
    const { start, order } = this.layerIndex();
    const x = this.t.x;
    let lo = start[l];
    let hi = start[l + 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x[order[mid]] < value) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  functionName(index) {
    const f = this.functions[this.t.fn[index]];
    return f ? f.name : "?";
  }
}
