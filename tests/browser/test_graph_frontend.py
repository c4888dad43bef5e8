"""The graph's front end in Chromium, fed the kernel's real messages by a stand-in model.

No Jupyter here: the widget's ES module runs in a bare page with a minimal model object
(``get``/``on``/``send``, as anywidget hands it), so the protocol's corner cases (a
delta that comes before the snapshot it continues) and the views' behaviour (the
timeline's window, grouping above ``max_nodes``) are checked quickly and exactly.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from playwright.sync_api import expect

from eflows_kernel.widgets.graph_model import RunGraphModel
from eflows_kernel.widgets.graph_view import STATIC, front_end_module
from eflows_kernel.widgets.graph_wire import WireEncoder, task_details
from tests.widgets.test_graph_model import Stream

PAGE = """<!DOCTYPE html><html><head><style>{css}</style></head>
<body style="margin:0;padding:8px;width:1200px"><div id="host"></div></body></html>"""

LOAD = """async ([source, maxNodes]) => {
  const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
  const widget = (await import(url)).default;
  const attrs = {_uid: 'test', _snapshot_meta: {}, _snapshot_data: null, height: 360,
                 max_nodes: maxNodes, selected: 0};
  const handlers = {};
  window.model = {get: (k) => attrs[k], set: (k, v) => { attrs[k] = v; }, sent: [],
    send(m) { this.sent.push(m); }, on(name, cb) { (handlers[name] ||= []).push(cb); },
    off() {}};
  window.deliver = (meta, data64) => {
    const bytes = Uint8Array.from(atob(data64), (c) => c.charCodeAt(0));
    for (const cb of handlers['msg:custom'] || []) cb(meta, [new DataView(bytes.buffer)]);
  };
  widget.initialize({model: window.model});
  widget.render({model: window.model, el: document.getElementById('host')});
}"""


def open_widget(page: Any, max_nodes: int = 5000) -> None:
    page.set_content(PAGE.format(css=(STATIC / "graph.css").read_text()))
    page.evaluate(LOAD, [front_end_module(), max_nodes])


def deliver(page: Any, message: tuple[dict[str, Any], bytes], kind: str) -> None:
    meta, data = message
    page.evaluate("([m, d]) => window.deliver(m, d)",
                  [{"type": kind, **meta}, base64.b64encode(data).decode()])


def state(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => { const g = document.querySelector('.eflows-graph');
        const s = g.eflowsGraph.store;
        return {seq: s.seq, n: s.n, status: g.dataset.status, mode: g.dataset.mode,
                counts: g.dataset.counts && JSON.parse(g.dataset.counts)}; }""")


def run(model: RunGraphModel, ev: Stream, first: int, last: int) -> None:
    for task in range(first, last + 1):
        model.apply(ev.submit(task, "work"))
        model.apply(ev.run(task, worker_name=f"node/{task % 2}", started=float(task)))
        model.apply(ev.end(task, started=float(task), ended=task + 0.5))


def test_a_delta_that_outruns_its_snapshot_waits_for_it(page: Any) -> None:
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    open_widget(page)
    run(model, ev, 1, 3)
    encoder.delta()  # seq 1: lost (the page was not listening yet)
    snapshot = encoder.snapshot()  # seq 1
    run(model, ev, 4, 5)
    second = encoder.delta()  # seq 2, continues seq 1
    deliver(page, second, "delta")  # arrives first: it cannot apply yet
    assert state(page)["n"] == 0
    assert {"type": "hello", "seq": 0} in page.evaluate("window.model.sent")  # asked for one
    deliver(page, snapshot, "snapshot")
    page.wait_for_function("document.querySelector('.eflows-graph').dataset.seq === '2'")
    shown = state(page)
    assert shown["n"] == 5 and shown["counts"][3] == 5 and shown["status"] == "done"


def test_old_messages_never_undo_newer_ones(page: Any) -> None:
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    open_widget(page)
    model.apply(ev.submit(1, "work"))
    first = encoder.delta()
    old_snapshot = encoder.snapshot()
    model.apply(ev.end(1))
    done = encoder.delta()
    for message, kind in ((first, "delta"), (done, "delta"), (old_snapshot, "snapshot"),
                          (first, "delta")):
        deliver(page, message, kind)
    page.wait_for_timeout(300)
    assert state(page)["counts"][3] == 1  # still done


def test_large_runs_open_grouped_and_the_timeline_says_its_window(page: Any) -> None:
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    open_widget(page, max_nodes=50)
    run(model, ev, 1, 80)
    deliver(page, encoder.delta(), "delta")
    page.wait_for_function("document.querySelector('.eflows-graph').dataset.total === '80'")
    assert state(page)["mode"] == "functions"
    caption = page.locator(".eflows-timeline .eflows-caption")
    assert "the whole run" in caption.inner_text()
    page.locator(".eflows-timeline-area").focus()
    page.keyboard.press("+")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("""() => document.querySelector('.eflows-timeline .eflows-caption')
        .textContent.startsWith('Timeline: showing')""")
    assert "double-click or 0 shows the whole run" in caption.inner_text()
    page.get_by_role("button", name="Timeline: show the whole run").click()
    page.wait_for_function("""() => document.querySelector('.eflows-timeline .eflows-caption')
        .textContent.includes('the whole run, 0')""")
    page.get_by_role("button", name="Show every task").click()
    assert state(page)["mode"] == "tasks"


def hostile(field: str) -> str:
    """Markup that, if it ever became HTML, would set ``window.__xss_<field>``."""
    return f'<img src=x onerror="window.__xss_{field}=1"><b>{field}</b>'


HOSTILE_TASK = {  # every text of a task event that a site's log could carry
    "worker": f"tcp://{hostile('worker')}", "worker_name": hostile("worker_name"),
    "stdout": hostile("stdout"), "stderr": hostile("stderr"),
    "command": hostile("command"), "hosts": [hostile("hosts")],
    hostile("extra_key"): hostile("extra_value")}


def markup_in(page: Any) -> dict[str, Any]:
    """What of the page became markup: xss flags set, event-handler attributes, images."""
    return page.evaluate("""() => ({
        flags: Object.keys(window).filter((k) => k.startsWith('__xss')),
        handlers: [...document.querySelectorAll('*')].filter((n) =>
            [...n.attributes].some((a) => a.name.startsWith('on'))).length,
        images: document.querySelectorAll('#host img, #host b, #host script').length})""")


def task_point(page: Any, index: int, *, timeline: bool = False) -> tuple[float, float]:
    """Where on the page a task's node is (a function's box when grouped; on the
    timeline: a point of the task's bar), scrolled into view first."""
    area = ".eflows-timeline-area" if timeline else ".eflows-dag"
    page.locator(area).scroll_into_view_if_needed()
    page.wait_for_timeout(200)  # drawn once visible
    x, y = page.evaluate("""([i, timeline]) => {
        const g = document.querySelector('.eflows-graph').eflowsGraph;
        if (timeline) { // the first point of the area whose bar is this task's
          const tl = g.timeline; const r = tl.area.getBoundingClientRect();
          for (let y = 1; y < r.height; y += 2) for (let x = 1; x < r.width; x += 2) {
            if (tl.hit(x, y) === i) return [r.left + x, r.top + y]; // (an index)
          }
          throw new Error(`no bar of task ${g.store.t.id[i]}: ${JSON.stringify(
            [r, tl.w, tl.h, g.store.na, tl.range()])}`);
        }
        const r = g.dag.root.getBoundingClientRect(); const v = g.dag.view;
        const fns = g.dag.mode === 'functions';
        const x = fns ? g.store.functions[i].x : g.store.t.x[i];
        const layer = fns ? g.store.functions[i].layer : g.store.t.layer[i];
        return [r.left + x * v.sx + v.tx, r.top + layer * v.sy + v.ty]; }""",
                         [index, timeline])
    return x, y


def hover_task(page: Any, index: int, *, timeline: bool = False) -> None:
    """Move the real mouse over a task's node (or its bar on the timeline)."""
    page.mouse.move(*task_point(page, index, timeline=timeline))
    page.wait_for_selector(".eflows-tooltip:not([hidden])")


def open_details(page: Any, model: RunGraphModel, index: int) -> None:
    """Click a task's node, and answer the front end's request as the kernel does."""
    page.mouse.click(*task_point(page, index))
    page.wait_for_function(f"""() => window.model.sent.some(
        (m) => m.type === 'details' && m.index === {index})""")
    task_id = sorted(model.tasks)[index]
    page.evaluate("(d) => window.deliver({type: 'details', details: d}, '')",
                  json.loads(json.dumps(task_details(model, task_id))))


def test_hostile_text_from_a_sites_log_stays_text_in_every_view(page: Any) -> None:
    """Names, workers, errors, output, arguments and commands of a run (a site's event
    log can carry anything) are shown as text in the graph, the progress by function,
    the tooltips of nodes, function boxes and timeline bars, the details and search."""
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    open_widget(page, max_nodes=2)
    name = hostile("name")
    model.apply(ev(type="task", task=1, state="ready", name=name, deps=[],
                   groups=[hostile("group")], args={hostile("arg_key"): hostile("arg_value")}))
    for task in (2, 3):
        model.apply(ev.submit(task, name))
    model.apply(ev.run(1, started=103.5, **HOSTILE_TASK))
    model.apply(ev.end(1, "failed", started=103.5, ended=104.5, final=True,
                       on_failure=hostile("on_failure"), error=hostile("error"),
                       **HOSTILE_TASK))
    model.apply(ev.end(2, "cancelled", reason=hostile("reason")))
    model.apply(ev(type="run", state="failed", error=hostile("run_error")))  # replayed
    deliver(page, encoder.delta(), "delta")
    page.wait_for_function("document.querySelector('.eflows-graph').dataset.total === '3'")
    root = page.locator(".eflows-graph")
    expect(root.locator(".eflows-header")).to_contain_text(hostile("run_error"))

    # Grouped (3 tasks > max_nodes 2): the function's row and its box's tooltip.
    assert state(page)["mode"] == "functions"
    expect(root.locator(".eflows-functions").get_by_text(name, exact=True)).to_be_visible()
    hover_task(page, 0)
    expect(root.locator(".eflows-tooltip")).to_contain_text(name)

    # Every task: the node's and the timeline bar's tooltips.
    root.get_by_role("button", name="Show every task").click()
    hover_task(page, 0)
    tooltip = root.locator(".eflows-tooltip")
    for field in ("name", "worker_name", "error"):
        expect(tooltip).to_contain_text(hostile(field))
    hover_task(page, 0, timeline=True)
    expect(tooltip).to_contain_text(hostile("name"))

    # The details, as the kernel sends them on a click.
    open_details(page, model, 0)
    details = root.locator(".eflows-details")
    expect(details).to_be_visible()
    for field in ("name", "worker_name", "error", "group", "arg_key", "arg_value",
                  "command", "hosts", "extra_value", "on_failure"):
        expect(details).to_contain_text(hostile(field))
    for block in details.locator("details").all():  # folded output: open it
        block.evaluate("(node) => { node.open = true; }")
    for field in ("stdout", "stderr"):
        expect(details).to_contain_text(hostile(field))
    open_details(page, model, 1)
    expect(details).to_contain_text(hostile("reason"))

    # Search by the hostile name: matched as text.
    root.locator(".eflows-search").fill("<img")
    expect(root.locator(".eflows-matches")).to_contain_text("3 of 3 tasks")

    assert markup_in(page) == {"flags": [], "handlers": 0, "images": 0}


def test_counts_follow_the_kernel_even_when_drawing_is_slow(page: Any) -> None:
    """The header, counts and summary follow each message on their own cadence: a page
    whose drawing is slow (here: reported as taking ages, so canvases redraw rarely)
    still shows where the run is."""
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    open_widget(page)
    run(model, ev, 1, 3)
    deliver(page, encoder.delta(), "delta")
    page.wait_for_function("document.querySelector('.eflows-graph').dataset.total === '3'")
    page.evaluate("""() => { const g = document.querySelector('.eflows-graph').eflowsGraph;
        g.renderData = () => { window.__drawnData = true; };  // the slow part, never done
        g.dag.lastDrawMs = 1e6; g.timeline.lastDrawMs = 1e6; }""")
    run(model, ev, 4, 6)
    deliver(page, encoder.delta(), "delta")
    page.wait_for_function("document.querySelector('.eflows-graph').dataset.total === '6'")
    assert state(page)["counts"][3] == 6
    expect(page.locator(".eflows-summary")).to_contain_text("6 finished")
    expect(page.locator(".eflows-legend")).to_contain_text("6")
    assert not page.evaluate("window.__drawnData === true")


def test_updates_change_the_page_in_place_and_animate_nothing(page: Any) -> None:
    """Progress bars have no width transition (it repainted the notebook at every
    frame), the table by function keeps its rows (texts and bars change), and a
    message that changes nothing visible writes nothing to the page."""
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    open_widget(page)
    for task in (1, 2, 3):  # thirds: widths the browser reads back rounded
        model.apply(ev.submit(task, "work"))
    deliver(page, encoder.delta(), "delta")
    page.wait_for_function("document.querySelector('.eflows-functions td:nth-child(3)')"
                           "?.textContent === '0 / 3'")
    assert page.evaluate("""() => [...document.querySelectorAll('.eflows-seg')].every(
        (s) => getComputedStyle(s).transitionDuration === '0s')""")
    page.evaluate("window.__row = document.querySelector('.eflows-functions tbody tr')")
    model.apply(ev.run(1, started=1.0))
    model.apply(ev.end(1, started=1.0, ended=2.0))
    deliver(page, encoder.delta(), "delta")
    page.wait_for_function("document.querySelector('.eflows-functions td:nth-child(3)')"
                           ".textContent === '1 / 3'")
    assert page.evaluate("document.querySelector('.eflows-functions tbody tr') === window.__row")
    page.wait_for_timeout(700)  # every redraw of that message done (table: twice a second)
    page.evaluate("""() => { window.__writes = [];
        new MutationObserver((records) => window.__writes.push(...records.map(
            (r) => `${r.type} ${r.attributeName || ''} ${r.target.className
                    || r.target.nodeName}`)))
          .observe(document.querySelector('.eflows-graph'),
                   {subtree: true, attributes: true, childList: true, characterData: true}); }""")
    meta, data = encoder.snapshot()  # the same picture again
    deliver(page, ({**meta, "seq": meta["seq"] + 1, "base": meta["seq"], "kind": "delta"},
                   data), "delta")
    page.wait_for_function("document.querySelector('.eflows-graph').dataset.seq === '3'")
    page.wait_for_timeout(700)
    writes = page.evaluate("window.__writes")
    assert [w for w in writes if "seq" not in w] == []


def test_one_frame_draws_within_its_budget_and_the_rest_at_the_next(page: Any) -> None:
    """When the DAG's drawing fills a frame's budget, the timeline draws at the next
    frame instead of making that frame longer; both are drawn."""
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    open_widget(page)
    run(model, ev, 1, 3)
    deliver(page, encoder.delta(), "delta")
    page.wait_for_function("document.querySelector('.eflows-graph').dataset.total === '3'")
    frames = page.evaluate("""() => new Promise((resolve) => {
        const g = document.querySelector('.eflows-graph').eflowsGraph;
        const drawn = {};
        g.dag.draw = () => { const t = performance.now(); while (performance.now() - t < 30);
                             drawn.dag = document.timeline.currentTime; };
        g.timeline.draw = () => { drawn.timeline = document.timeline.currentTime;
                                  resolve(drawn); };
        g.dag.request(); g.timeline.request(); })""")
    assert frames["timeline"] > frames["dag"]


def test_dragging_moves_the_view_and_a_click_selects(page: Any) -> None:
    """The one pointer helper of the DAG and the timeline: a press that moves pans the
    DAG (nothing selected) and moves the timeline's window; a press released in place
    selects the task under it."""
    ev, model = Stream(), RunGraphModel()
    encoder = WireEncoder(model)
    open_widget(page)
    run(model, ev, 1, 3)
    deliver(page, encoder.delta(), "delta")
    page.wait_for_function("document.querySelector('.eflows-graph').dataset.total === '3'")
    x, y = task_point(page, 0)
    before = page.evaluate("document.querySelector('.eflows-graph').eflowsGraph.dag.view.tx")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 5, steps=4)
    page.mouse.up()
    dag = page.evaluate("""() => { const d = document.querySelector('.eflows-graph')
        .eflowsGraph.dag; return {tx: d.view.tx, selected: d.selected, fitted: d.fitted}; }""")
    assert dag == {"tx": before + 40, "selected": -1, "fitted": False}
    page.mouse.click(x + 40, y + 5)
    assert page.evaluate("document.querySelector('.eflows-graph').eflowsGraph.dag.selected") == 0
    x, y = task_point(page, 1, timeline=True)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 60, y, steps=4)
    page.mouse.up()
    page.wait_for_function("""() => document.querySelector('.eflows-timeline .eflows-caption')
        .textContent.startsWith('Timeline: showing')""")
