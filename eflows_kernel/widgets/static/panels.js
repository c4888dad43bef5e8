// panels.js: the HTML around the canvases: header and progress bar, toolbar and the
// one legend, progress by function, task details, tooltip, screen-reader summary.
// Every text from a run (task names, errors, output) goes in as text nodes, never as
// HTML: a task named "<img src=x onerror=...>" shows as just that.

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// Writes that change nothing still cost the page a style and layout pass: skip them.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setAttr(node, name, value) {
  const text = String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}

// (Compared with what was set: the browser reads 100/3 % back rounded.)
function setWidth(node, percent) {
  const width = `${Math.round(percent * 100) / 100}%`;
  if (node.eflowsWidth !== width) {
    node.eflowsWidth = width;
    node.style.width = width;
  }
}

const STATUS_WORDS = {
  waiting: "Waiting", running: "Running", done: "Done", failed: "Failed", cancelled: "Cancelled",
};
const STATUS_SHAPE = { waiting: 0, running: 2, done: 3, failed: 4, cancelled: 5 };

class Header {
  constructor() {
    this.badge = h("span", { class: "eflows-badge" });
    this.text = h("span", { class: "eflows-summary" });
    this.segments = ["done", "failed", "cancelled", "running"].map(
      (s) => h("div", { class: `eflows-seg eflows-bg-${s}`, title: s }));
    this.bar = h("div", { class: "eflows-progress", role: "progressbar", "aria-valuemin": 0,
                          "aria-label": "Tasks finished" }, ...this.segments);
    // A step graph's steps, each with its state (its tasks are named "<step>/<function>").
    this.steps = h("div", { class: "eflows-steps", role: "list", "aria-label": "Steps" });
    this.root = h("div", { class: "eflows-header" },
      h("div", { class: "eflows-headline" }, this.badge, this.text), this.bar, this.steps);
  }

  updateSteps(steps) { // (rebuilt only when a step's state changes)
    const key = JSON.stringify(steps);
    if (key === this.stepsKey) return;
    this.stepsKey = key;
    this.steps.hidden = !steps.length;
    this.steps.replaceChildren(...steps.map(([name, state]) => {
      const chip = h("span", { class: `eflows-step eflows-step-${/^[a-z-]+$/.test(state) ? state : "unknown"}`,
                               role: "listitem" });
      chip.textContent = `${name}: ${state}`;
      return chip;
    }));
  }

  update(store) {
    const hd = store.header;
    const status = hd.status || "waiting";
    if (this.status !== status) {
      this.status = status;
      this.badge.className = `eflows-badge eflows-status-${status}`;
      this.badge.replaceChildren(shapeIcon(STATUS_SHAPE[status] ?? 0, 12),
                                 STATUS_WORDS[status] || status);
    }
    const parts = [hd.run ? `run ${hd.run}` : "no run yet", `${fmtInt(hd.total)} tasks`,
                   `${fmtInt(hd.finished)} finished`];
    if (status === "running" && hd.eta !== null && hd.eta !== undefined) {
      parts.push(`about ${fmtSeconds(hd.eta)} left`);
    }
    if (hd.error) parts.push(hd.error);
    setText(this.text, parts.join(" \u00b7 "));
    const total = Math.max(1, hd.total);
    const c = hd.counts;
    [c[3], c[4], c[5], c[2]].forEach((n, i) => setWidth(this.segments[i], (100 * n) / total));
    setAttr(this.bar, "aria-valuemax", hd.total);
    setAttr(this.bar, "aria-valuenow", hd.finished);
    setAttr(this.bar, "aria-valuetext", summaryText(store));
    this.updateSteps(hd.steps || []);
  }
}

function summaryText(store) {
  const hd = store.header;
  const c = hd.counts;
  const parts = STATES.map((s, i) => (c[i] ? `${fmtInt(c[i])} ${s}` : null)).filter(Boolean);
  return `${STATUS_WORDS[hd.status] || hd.status}: ${fmtInt(hd.finished)} of ${fmtInt(hd.total)} `
    + `tasks finished${parts.length ? ` (${parts.join(", ")})` : ""}.`;
}

class Toolbar {
  constructor(actions) {
    this.search = h("input", { type: "search", class: "eflows-search",
      placeholder: "Search function or #id", "aria-label": "Search tasks by function name or id",
      oninput: () => actions.search(this.search.value),
      onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); actions.next(e.shiftKey ? -1 : 1); } } });
    this.matches = h("span", { class: "eflows-matches", "aria-live": "polite" });
    this.filters = {};
    const group = h("div", { class: "eflows-segmented", role: "group", "aria-label": "Show" });
    for (const [key, label] of [["all", "All"], ["running", "Running only"], ["failed", "Failed only"]]) {
      const button = h("button", { type: "button", "aria-pressed": key === "all" ? "true" : "false",
                                   onclick: () => actions.filter(key), text: label });
      this.filters[key] = button;
      group.append(button);
    }
    this.fit = h("button", { type: "button", title: "Zoom to fit (f)", onclick: actions.fit,
                             text: "Fit" });
    this.mode = h("button", { type: "button", onclick: actions.toggleMode });
    this.back = h("button", { type: "button", class: "eflows-back", hidden: true,
                              onclick: () => actions.drill(-1), text: "\u2039 All functions" });
    this.crumb = h("span", { class: "eflows-crumb" });
    this.legend = h("ul", { class: "eflows-legend", "aria-label": "Legend: task states" });
    this.counts = STATES.map((s, i) => {
      const count = h("span", { class: "eflows-count" });
      this.legend.append(h("li", { class: `eflows-fg-${s}` }, shapeIcon(i, 12),
                           h("span", { class: "eflows-legend-name", text: s }), count));
      return count;
    });
    this.hint = h("span", { class: "eflows-hint", role: "status" });
    this.root = h("div", { class: "eflows-toolbar" },
      h("div", { class: "eflows-tools" }, this.search, this.matches, group, this.fit, this.mode,
        this.back, this.crumb, this.hint),
      this.legend);
  }

  update(store, dag, grouped) {
    const c = store.header.counts;
    this.counts.forEach((node, i) => setText(node, fmtInt(c[i])));
    for (const [key, button] of Object.entries(this.filters)) {
      setAttr(button, "aria-pressed", dag.filter === key);
    }
    setText(this.mode, grouped ? "Show every task" : "Group by function");
    const drilled = dag.focusFn >= 0 && store.functions[dag.focusFn];
    if (this.back.hidden !== !drilled) this.back.hidden = !drilled;
    setText(this.crumb, drilled ? `${drilled.name}: ${fmtInt(drilled.total)} tasks` : "");
  }

  showMatches(text) {
    this.matches.textContent = text;
  }

  flash(text) {
    this.hint.textContent = text;
    clearTimeout(this.hintTimer);
    this.hintTimer = setTimeout(() => { this.hint.textContent = ""; }, 4000);
  }
}

class FunctionTable {
  constructor(actions) {
    this.body = h("tbody");
    const head = h("tr", {}, ...["function", "progress", "done / total", "running", "failed",
                                  "mean", "ETA"].map((t) => h("th", { scope: "col", text: t })));
    this.root = h("details", { class: "eflows-functions", open: true },
      h("summary", { text: "Progress by function" }),
      h("table", {}, h("thead", {}, head), this.body));
    this.actions = actions;
  }

  // Rows are made once per function and then only their texts and bars change.
  update(store) {
    const fns = store.functions;
    if (!this.rows || this.rows.length !== fns.length
        || this.rows.some((r, i) => r.name !== fns[i].name)) {
      this.rows = fns.map((f, i) => this.row(f, i));
      this.body.replaceChildren(...this.rows.map((r) => r.tr));
    }
    fns.forEach((f, i) => {
      const r = this.rows[i];
      if (r.state !== f.state) {
        r.state = f.state;
        r.icon.replaceWith(r.icon = shapeIcon(STATE[f.state], 10));
      }
      [3, 4, 5, 2].forEach((st, k) => setWidth(r.segments[k], f.total ? (100 * f.counts[st]) / f.total : 0));
      const finished = f.counts[3] + f.counts[4] + f.counts[5];
      setText(r.cells[0], `${fmtInt(f.counts[3])} / ${fmtInt(f.total)}`);
      setText(r.cells[1], fmtInt(f.counts[2]));
      setText(r.cells[2], fmtInt(f.counts[4]));
      setText(r.cells[3], fmtSeconds(f.mean));
      setText(r.cells[4], finished === f.total ? "done" : fmtSeconds(f.eta));
    });
  }

  row(f, i) {
    const segments = [3, 4, 5, 2].map((st) => h("div", { class: `eflows-seg eflows-bg-${STATES[st]}` }));
    const icon = shapeIcon(STATE[f.state], 10);
    const name = h("button", { type: "button", class: "eflows-link",
                               title: `Show only the tasks of ${f.name}`,
                               onclick: () => this.actions.drill(i) }, icon, f.name);
    const cells = [0, 1, 2, 3, 4].map(() => h("td"));
    const tr = h("tr", {}, h("td", {}, name), h("td", {}, h("div", { class: "eflows-minibar" }, ...segments)),
      ...cells);
    return { tr, name: f.name, state: f.state, icon, segments, cells };
  }
}

class DetailsPanel {
  constructor(actions) {
    this.body = h("div", { class: "eflows-details-body" });
    this.title = h("h4", { class: "eflows-details-title", tabindex: "-1" });
    this.close = h("button", { type: "button", class: "eflows-close", "aria-label": "Close task details",
                               onclick: () => actions.select(-1), text: "\u00d7" });
    this.root = h("section", { class: "eflows-details", "aria-label": "Task details", hidden: true },
      h("div", { class: "eflows-details-head" }, this.title, this.close), this.body);
    this.index = -1;
  }

  hide() {
    this.index = -1;
    this.root.hidden = true;
  }

  show(store, index, waiting) {
    this.index = index;
    this.root.hidden = false;
    const t = store.t;
    const d = store.details.get(index);
    const pushed = store.failures.get(index) || {};
    const state = STATES[t.state[index]];
    this.title.replaceChildren(shapeIcon(t.state[index], 13), ` Task #${t.id[index]} `,
      h("span", { class: "eflows-mono", text: store.functionName(index) }),
      h("span", { class: `eflows-state eflows-fg-${state}`, text: ` ${state}` }));
    const rows = [];
    const row = (key, value) => {
      if (value === null || value === undefined || value === "") return;
      rows.push(h("tr", {}, h("th", { scope: "row", text: key }), h("td", {}, value)));
    };
    const worker = store.workers[t.worker[index]];
    row("attempt", t.attempt[index] ? String(t.attempt[index]) : null);
    row("worker", worker);
    const started = t.started[index];
    if (isFinite(started)) {
      const ended = isFinite(t.ended[index]) ? t.ended[index] : null;
      row("started", `${fmtSeconds(started - (isFinite(store.firstStart) ? store.firstStart : 0))} into the run`);
      row("duration", ended !== null ? fmtSeconds(ended - started) : "running");
    }
    if (d) {
      row("depends on", d.n_deps ? d.deps.map((x) => `#${x}`).join(", ") + (d.n_deps > d.deps.length ? " \u2026" : "") : "nothing");
      row("groups", d.groups.join(", "));
      row("on failure", d.on_failure);
      row("cancelled because", d.reason);
      for (const [k, v] of Object.entries(d.extra || {})) row(k.replace(/_/g, " "), String(v));
      const usage = d.attempts.length ? d.attempts[d.attempts.length - 1].usage : null;
      if (usage) {
        row("worker CPU", `${usage.cpu_mean}% mean, ${usage.cpu_max}% max (of one core)`);
        row("worker memory", `${fmtBytes(usage.memory_max)} max`);
      }
      for (const [k, v] of Object.entries(d.args || {})) row(`argument ${k}`, h("code", { text: v }));
    }
    const parts = [h("table", { class: "eflows-kv" }, h("tbody", {}, ...rows))];
    if (d && d.attempts.length > 1) parts.push(this.attempts(d, store));
    const last = d && d.attempts.length ? d.attempts[d.attempts.length - 1] : {};
    const error = (d && d.error) || pushed.error;
    if (error) parts.push(this.block("Error", error, true, "eflows-error"));
    const out = last.stdout || pushed.stdout;
    const err = last.stderr || pushed.stderr;
    if (out) parts.push(this.block("Output (stdout)", out, !error));
    if (err) parts.push(this.block("Errors (stderr)", err, !error && !out));
    if (d && !out && !err && !error && d.attempts.length) {
      parts.push(h("p", { class: "eflows-note", text: "The task printed nothing." }));
    }
    if (!d && waiting) {
      parts.push(h("p", { class: "eflows-note", text: "Attempts, output and arguments load "
        + "when the kernel is free: it answers once the running cell has finished." }));
    }
    this.body.replaceChildren(...parts);
  }

  attempts(d, store) {
    const origin = isFinite(store.firstStart) ? store.firstStart + store.origin : 0;
    const head = h("tr", {}, ...["#", "worker", "started", "duration", "state", "error"].map(
      (x) => h("th", { scope: "col", text: x })));
    const rows = d.attempts.map((a) => h("tr", {},
      h("td", { text: String(a.number) }), h("td", { text: a.worker }),
      h("td", { text: fmtSeconds(a.started - origin) }),
      h("td", { text: a.ended ? fmtSeconds(a.ended - a.started) : "running" }),
      h("td", { class: `eflows-fg-${a.state}`, text: a.state }),
      h("td", { class: "eflows-mono", text: a.error ? lastLine(a.error) : "" })));
    return h("table", { class: "eflows-attempts" },
      h("caption", { text: `Attempts (${d.attempts.length})` }), h("thead", {}, head), h("tbody", {}, ...rows));
  }

  block(title, text, open, extra = "") {
    return h("details", { class: `eflows-block ${extra}`, open },
      h("summary", { text: title }), h("pre", { text }));
  }
}

function lastLine(text) {
  const lines = String(text).trim().split("\n").filter((l) => l.trim());
  return lines.length ? lines[lines.length - 1].slice(0, 160) : "";
}

class Tooltip {
  constructor() {
    this.root = h("div", { class: "eflows-tooltip", role: "tooltip", hidden: true });
  }

  show(lines, x, y, width) {
    this.root.replaceChildren(...lines.map((line, i) => h("div", { class: i ? "" : "eflows-tip-title" }, line)));
    this.root.hidden = false;
    const left = x + 14 + 260 > width ? Math.max(0, x - 274) : x + 14;
    this.root.style.left = `${left}px`;
    this.root.style.top = `${y + 12}px`;
  }

  hide() {
    this.root.hidden = true;
  }
}

function taskTooltip(store, i) {
  const t = store.t;
  const state = STATES[t.state[i]];
  const lines = [`#${t.id[i]} ${store.functionName(i)}`, `state: ${state}`];
  if (t.attempt[i] > 1) lines.push(`attempt: ${t.attempt[i]}`);
  if (t.worker[i] >= 0) lines.push(`worker: ${store.workers[t.worker[i]]}`);
  if (isFinite(t.started[i])) {
    lines.push(isFinite(t.ended[i]) ? `duration: ${fmtSeconds(t.ended[i] - t.started[i])}` : "running");
  }
  const error = store.errors.get(i);
  if (error) lines.push(`error: ${error}`);
  lines.push("click for details");
  return lines;
}

function functionTooltip(f) {
  const lines = [f.name, `${fmtInt(f.counts[3] + f.counts[4] + f.counts[5])} of ${fmtInt(f.total)} finished`];
  STATES.forEach((s, i) => { if (f.counts[i]) lines.push(`${s}: ${fmtInt(f.counts[i])}`); });
  if (f.mean !== null && f.mean !== undefined) lines.push(`mean duration: ${fmtSeconds(f.mean)}`);
  lines.push("click to see its tasks");
  return lines;
}
