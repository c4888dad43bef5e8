// widget.js: the anywidget entry point. One store per widget model (fed by the
// kernel's messages); each view draws it. Two cadences, so a slow page still shows
// where the run is: the header, counts and summary (a few text nodes) follow every
// message (deltas, and the kernel's header-only messages between them) at most
// HEADER_MS apart, never held back by drawing; the canvases and the
// table redraw at most ~8 times a second, fewer when drawing is slow (data never takes
// more than a quarter of the page's time). Pan and zoom redraw at the frame rate.
// Nothing is written to the page that did not change: every write costs a style,
// layout and paint pass of the whole notebook.

// anywidget hands initialize() and render() different proxies of one model: the
// store is found by the widget's _uid.
const STORES = new Map();
const DATA_REDRAW_MS = 120;
const DATA_REDRAW_MOST_MS = 10000; // (and a setTimeout past 2^31 ms fires at once)
const HEADER_MS = 100;
const TABLE_REDRAW_MS = 500;
const ANNOUNCE_MS = 10000;

function storeFor(model) {
  const uid = model.get("_uid");
  let store = STORES.get(uid);
  if (!store) {
    store = new GraphStore();
    STORES.set(uid, store);
  }
  return store;
}

class GraphWidget {
  constructor(el, model, store) {
    this.el = el;
    this.model = model;
    this.store = store;
    this.userMode = null; // "tasks" / "functions" once the user chose
    this.waitingSince = 0;
    el.classList.add("eflows-graph");
    el.eflowsGraph = this; // for tests and benchmarks
    const actions = {
      search: (q) => { this.dag.query = q; this.updateMatches(); this.dag.request(); },
      next: (d) => this.dag.walk(d),
      filter: (f) => { this.dag.filter = f; this.refreshChrome(); this.updateMatches(); this.dag.request(); },
      fit: () => this.dag.fit(),
      toggleMode: () => this.setMode(this.mode() === "functions" ? "tasks" : "functions"),
      drill: (i) => this.drill(i),
      select: (i) => this.select(i),
    };
    this.header = new Header();
    this.toolbar = new Toolbar(actions);
    this.dag = new DagCanvas(store);
    this.tooltip = new Tooltip();
    this.timeline = new TimelineCanvas(store);
    this.table = new FunctionTable(actions);
    this.details = new DetailsPanel(actions);
    this.announcer = h("div", { class: "eflows-sr-only", "aria-live": "polite" });
    const helpId = `eflows-help-${Math.random().toString(36).slice(2)}`;
    this.help = h("div", { id: helpId, class: "eflows-sr-only", text: "Arrow keys move the graph, "
      + "plus and minus zoom, f fits it, n and p go to the next and previous failed or matching "
      + "task, Enter opens the task under the pointer, Escape closes the details." });
    this.dag.root.setAttribute("aria-describedby", helpId);
    const stage = h("div", { class: "eflows-stage" }, this.dag.root, this.tooltip.root);
    el.replaceChildren(this.header.root, this.toolbar.root, stage, this.timeline.root,
                       this.table.root, this.details.root, this.announcer, this.help);
    this.dag.callbacks = {
      select: (i) => this.select(i),
      drill: (i) => this.drill(i),
      hover: (i, x, y) => this.hoverDag(i, x, y),
      hint: (text) => this.toolbar.flash(text),
    };
    this.timeline.callbacks = {
      select: (i) => this.select(i),
      hover: (i, x, y) => this.hoverTimeline(i, x, y),
      hint: (text) => this.toolbar.flash(text),
    };
    this.unsubscribe = store.onChange((what) => this.onData(what));
    this.onSelected = () => this.selectById(model.get("selected"));
    model.on("change:selected", this.onSelected);
    this.width = 0; // the room inside the padding, as the ResizeObserver reports it
    this.resizer = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1].contentRect;
      this.width = box.width;
      this.layout();
    });
    this.resizer.observe(el);
    this.visibility = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const part = entry.target === this.dag.root ? this.dag : this.timeline;
        part.setVisible(entry.isIntersecting);
      }
    });
    this.visibility.observe(this.dag.root);
    this.visibility.observe(this.timeline.area);
    this.themer = new MutationObserver(() => this.applyTheme());
    this.themer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class"] });
    this.ticker = setInterval(() => this.tick(), 500);
    requestAnimationFrame(() => {
      this.applyTheme();
      this.renderData(); // what the store had before this view existed
      if (store.selectedFromKernel !== null) this.select(store.selectedFromKernel, false);
      else this.onSelected();
    });
  }

  destroy() {
    this.unsubscribe();
    this.model.off("change:selected", this.onSelected);
    this.resizer.disconnect();
    this.visibility.disconnect();
    this.themer.disconnect();
    clearInterval(this.ticker);
    clearTimeout(this.tableTimer);
    clearTimeout(this.dataTimer);
    clearTimeout(this.headerTimer);
  }

  mode() {
    if (this.userMode) return this.userMode;
    return this.store.header.total > this.model.get("max_nodes") ? "functions" : "tasks";
  }

  setMode(mode) {
    this.userMode = mode;
    this.dag.focusFn = -1;
    this.syncMode();
    this.dag.fit();
  }

  syncMode() {
    const mode = this.mode();
    if (this.dag.mode !== mode) {
      this.dag.mode = mode;
      this.dag.selected = -1;
      this.dag.fitted = true;
    }
    if (this.el.dataset.mode !== mode) this.el.dataset.mode = mode;
    this.refreshChrome();
  }

  drill(i) {
    if (i >= 0 && this.dag.focusFn < 0) this.returnMode = this.userMode;
    this.dag.focusFn = i;
    this.userMode = i >= 0 ? "tasks" : this.returnMode || null;
    this.syncMode();
    this.dag.fit();
    const f = this.store.functions[i];
    this.announce(f ? `Showing the ${fmtInt(f.total)} tasks of ${f.name}` : "Showing every function", true);
  }

  applyTheme() {
    const theme = readTheme(this.el);
    this.dag.theme = theme;
    this.timeline.theme = theme;
    this.el.dataset.theme = theme.dark ? "dark" : "light";
    this.dag.request();
    this.timeline.request();
  }

  // The room inside the padding: clientWidth counts it, and a canvas that wide would
  // stick out of its panel by the padding (the portal's layout test caught 16 px).
  // Known from the ResizeObserver; measured (a forced layout) only before it spoke.
  roomWidth() {
    if (this.width > 0) return this.width;
    const style = getComputedStyle(this.el);
    const padding = (parseFloat(style.paddingLeft) || 0) + (parseFloat(style.paddingRight) || 0);
    return (this.el.clientWidth || 800) - padding;
  }

  layout() {
    const width = Math.max(200, this.roomWidth());
    const most = this.model.get("height") || 420;
    const height = this.dag.fitted ? this.dag.preferredHeight(most) : this.dag.h || most;
    const resized = this.dag.resize(width, height);
    if (this.timeline.resize(width) || resized) {
      this.dag.request();
      this.timeline.request();
    }
  }

  onData(what) {
    if (what === "details") {
      if (this.details.index >= 0) this.details.show(this.store, this.details.index, false);
      return;
    }
    this.scheduleHeader();
    if (what === "header") return; // (the header alone: nothing to redraw)
    const every = clamp(4 * (this.dag.lastDrawMs + this.timeline.lastDrawMs), DATA_REDRAW_MS,
                        DATA_REDRAW_MOST_MS);
    const wait = Math.max(0, (this.lastData || 0) + every - performance.now());
    if (this.dataTimer) return;
    this.dataTimer = setTimeout(() => {
      this.dataTimer = null;
      this.lastData = performance.now();
      this.renderData();
    }, wait);
  }

  // The header and counts: now if the last update is HEADER_MS old, else when it is.
  scheduleHeader() {
    const wait = (this.lastHeader || -Infinity) + HEADER_MS - performance.now();
    if (wait <= 0) {
      clearTimeout(this.headerTimer);
      this.headerTimer = null;
      this.renderHeader();
    } else if (!this.headerTimer) {
      this.headerTimer = setTimeout(() => { this.headerTimer = null; this.renderHeader(); }, wait);
    }
  }

  renderHeader() {
    const store = this.store;
    const status = store.header.status;
    this.lastHeader = performance.now();
    this.headerVersion = store.version;
    this.header.update(store);
    this.syncMode(); // (and the toolbar's counts)
    const summary = summaryText(store);
    setAttr(this.dag.root, "aria-label", `Task graph. ${summary}`);
    const data = this.el.dataset;
    const counts = JSON.stringify(store.header.counts);
    if (data.status !== status) data.status = status;
    if (data.total !== String(store.header.total)) data.total = String(store.header.total);
    if (data.counts !== counts) data.counts = counts;
    if (data.seq !== String(store.seq)) data.seq = String(store.seq);
    if (status !== this.lastStatus) {
      this.lastStatus = status;
      this.announce(summary, true);
    } else {
      this.announce(summary, false);
    }
  }

  renderData() {
    const store = this.store;
    this.syncMode();
    if (this.headerVersion !== store.version) this.renderHeader();
    this.layout();
    this.dag.request();
    this.timeline.request();
    this.updateTable();
    if (this.details.index >= 0 && this.details.index < store.n) {
      this.details.show(store, this.details.index, this.waitingSince > 0);
    }
    if (this.dag.query || this.dag.filter !== "all") this.updateMatches();
  }

  updateTable() { // at most twice a second, and always once after the last change
    const wait = (this.lastTable || 0) + TABLE_REDRAW_MS - performance.now();
    if (wait > 0) {
      if (!this.tableTimer) {
        this.tableTimer = setTimeout(() => { this.tableTimer = null; this.updateTable(); }, wait);
      }
      return;
    }
    this.lastTable = performance.now();
    this.table.update(this.store);
  }

  refreshChrome() {
    this.toolbar.update(this.store, this.dag, this.dag.mode === "functions");
  }

  tick() { // running bars grow; the table's ETA and mean move on
    const status = this.store.header.status;
    if (status === "running" || status === "waiting") {
      this.timeline.request();
      this.updateTable();
    }
  }

  announce(text, now) {
    const t = performance.now();
    if (!now && t - (this.lastAnnounce || 0) < ANNOUNCE_MS) return;
    this.lastAnnounce = t;
    setText(this.announcer, text); // (the same words again are not news)
  }

  updateMatches() {
    const dag = this.dag;
    if (!dag.query && dag.filter === "all") {
      this.toolbar.showMatches("");
      return;
    }
    if (dag.mode === "functions") {
      const q = dag.query.trim().toLowerCase();
      const n = this.store.functions.filter((f) => !q || f.name.toLowerCase().includes(q)).length;
      this.toolbar.showMatches(`${n} function${n === 1 ? "" : "s"}`);
      return;
    }
    const n = dag.highlighted().length;
    this.toolbar.showMatches(`${fmtInt(n)} of ${fmtInt(this.store.header.total)} tasks`
      + (n ? " (Enter: next)" : ""));
  }

  select(i, ask = true) {
    const store = this.store;
    if (this.dag.mode === "tasks") this.dag.selected = i; // (grouped: selection is a function)
    this.dag.request();
    if (i < 0 || i >= store.n) {
      this.details.hide();
      return;
    }
    if (ask && !store.details.has(i)) {
      this.waitingSince = performance.now();
      this.model.send({ type: "details", index: i });
    }
    this.details.show(store, i, !store.details.has(i));
    this.announce(`Selected task #${store.t.id[i]} ${store.functionName(i)}, ${STATES[store.t.state[i]]}`, true);
  }

  selectById(id) {
    if (!id) return;
    const ids = this.store.t.id;
    for (let i = 0; i < this.store.n; i++) {
      if (ids[i] === id) { this.select(i); return; }
    }
  }

  hoverDag(i, x, y) {
    if (i < 0) { this.tooltip.hide(); return; }
    const lines = this.dag.mode === "functions"
      ? functionTooltip(this.store.functions[i]) : taskTooltip(this.store, i);
    this.tooltip.show(lines, x, y, this.dag.w);
  }

  hoverTimeline(i, x, y) {
    if (i < 0) { this.tooltip.hide(); return; }
    const top = this.dag.h + 30;
    this.tooltip.show(taskTooltip(this.store, i), x, top + y, this.dag.w);
  }
}

// Deltas that came before the state they apply to (a snapshot still on its way: widget
// state updates are applied asynchronously, custom messages at once) wait here.
const WAITING_DELTAS = 64;

export default {
  initialize({ model }) {
    const store = storeFor(model);
    const waiting = [];
    let asked = -Infinity; // (performance.now() starts at 0 with the page)
    const ask = () => { // a missed message: the kernel sends a snapshot when it is free
      if (performance.now() - asked < 2000) return;
      asked = performance.now();
      model.send({ type: "hello", seq: store.seq });
    };
    const apply = (meta, data) => {
      let result;
      try {
        result = store.accept(meta, data);
      } catch (error) {
        console.error("eFlows graph: cannot apply a message from the kernel", error);
        return "gap";
      }
      if (result === "applied" && meta.kind === "snapshot") {
        waiting.sort((a, b) => a[0].seq - b[0].seq);
        for (const [m, d] of waiting.splice(0)) {
          if (store.accept(m, d) === "gap") waiting.push([m, d]);
        }
      }
      return result;
    };
    const fromState = () => {
      const meta = model.get("_snapshot_meta");
      if (meta && meta.kind) apply(meta, model.get("_snapshot_data"));
    };
    fromState();
    model.on("change:_snapshot_data", fromState); // meta changes with it (hold_sync)
    model.on("msg:custom", (msg, buffers) => {
      if (msg.type === "details") {
        store.setDetails(msg.details);
        return;
      }
      if (msg.type === "header") {
        store.acceptHeader(msg);
        return;
      }
      const data = buffers && buffers[0];
      if (apply(msg, data) === "gap") {
        waiting.push([msg, data]);
        if (waiting.length > WAITING_DELTAS) waiting.shift();
        ask();
      }
    });
    ask();
    return () => STORES.delete(model.get("_uid"));
  },

  render({ model, el }) {
    const widget = new GraphWidget(el, model, storeFor(model));
    return () => widget.destroy();
  },
};
