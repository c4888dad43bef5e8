"""The graph's front end in Chromium, fed the kernel's real messages by a stand-in model.

No Jupyter here: the widget's ES module runs in a bare page with a minimal model object
(``get``/``on``/``send``, as anywidget hands it), so the protocol's corner cases (a
delta that comes before the snapshot it continues) and the views' behaviour (the
timeline's window, grouping above ``max_nodes``) are checked quickly and exactly.
"""

from __future__ import annotations

import base64
from typing import Any

from eflows_kernel.widgets.graph_model import RunGraphModel
from eflows_kernel.widgets.graph_view import STATIC, front_end_module
from eflows_kernel.widgets.graph_wire import WireEncoder
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
