// frames.js: what the DAG and the timeline canvases share. One drawing pass per
// animation frame for every canvas of the page, within a budget: parts that would go
// over it draw at the next frame (first in line then), so a slow DAG cannot make one
// frame long by dragging the timeline's draw into it. Parts scrolled out of view do
// not draw until they are back. And the pointer and key input of a canvas area: a
// press released without moving is a click, a press that moves is a drag, a move
// without a press is a hover; the wheel zooms only once the area has focus.

const FRAME_BUDGET_MS = 12;
const FRAME_QUEUE = [];
let frameAsked = false;

function drawFrame() {
  frameAsked = false;
  const started = performance.now();
  const parts = FRAME_QUEUE.splice(0);
  for (let k = 0; k < parts.length; k++) {
    if (k > 0 && performance.now() - started > FRAME_BUDGET_MS) {
      FRAME_QUEUE.unshift(...parts.slice(k)); // still pending: next frame, first
      break;
    }
    const part = parts[k];
    part.pending = false;
    part.draw();
  }
  if (FRAME_QUEUE.length) askFrame();
}

function askFrame() {
  if (frameAsked) return;
  frameAsked = true;
  requestAnimationFrame(drawFrame);
}

// Draw ``part`` (anything with draw()) at the next frame with room for it.
function requestDraw(part) {
  if (part.pending) return;
  if (part.hidden) { part.stale = true; return; }
  part.pending = true;
  FRAME_QUEUE.push(part);
  askFrame();
}

function setPartVisible(part, visible) {
  part.hidden = !visible;
  if (visible && part.stale) { part.stale = false; requestDraw(part); }
}

// Pointer and key input of ``el``. Handlers (all optional): click(x, y), drag(dx, dy),
// hover(x, y), leave(), wheel(event, x, y), hint(text) (the wheel without focus), and
// keys: {key: action} (Alt/Ctrl/Meta combinations are left to the page). ``axis: "x"``
// counts only horizontal movement towards a drag. after() runs after a drag step, a
// wheel step or a key (the part redraws).
function bindPointer(el, handlers) {
  const on = { click() {}, drag() {}, hover() {}, leave() {}, after() {}, ...handlers };
  const horizontal = handlers.axis === "x";
  let press = null;
  const local = (e) => {
    const r = el.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  el.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    const [x, y] = local(e);
    press = { x, y, moved: false };
    el.setPointerCapture(e.pointerId);
  });
  el.addEventListener("pointermove", (e) => {
    const [x, y] = local(e);
    if (!press) { on.hover(x, y); return; }
    const dx = x - press.x; const dy = horizontal ? 0 : y - press.y;
    if (press.moved || Math.abs(dx) + Math.abs(dy) > 3) {
      press.moved = true;
      on.drag(dx, dy);
      press.x = x; press.y = y;
      on.after();
    }
  });
  el.addEventListener("pointerup", (e) => {
    if (!press) return;
    const moved = press.moved;
    press = null;
    if (!moved) on.click(...local(e));
  });
  el.addEventListener("pointerleave", () => on.leave());
  if (handlers.wheel) {
    el.addEventListener("wheel", (e) => {
      if (document.activeElement !== el && !e.ctrlKey && !e.metaKey) {
        if (handlers.hint) handlers.hint();
        return;
      }
      e.preventDefault();
      handlers.wheel(e, ...local(e));
      on.after();
    }, { passive: false });
  }
  if (handlers.keys) {
    el.addEventListener("keydown", (e) => {
      const action = handlers.keys[e.key];
      if (!action || e.altKey || e.ctrlKey || e.metaKey) return;
      e.preventDefault();
      e.stopPropagation();
      action();
      on.after();
    });
  }
}
