/**
 * The task graph as SVG: tasks in layers under their dependencies (longest path from a
 * root), coloured by state, with the same colours as the notebook's graph widget.
 */
import { ITaskNode } from './progress';

export const STATE_COLOURS: Record<string, string> = {
  pending: '#c7c7c7',
  ready: '#9ecae1',
  running: '#1f77b4',
  done: '#2ca02c',
  failed: '#d62728',
  cancelled: '#8c564b'
};

const SVG = 'http://www.w3.org/2000/svg';
const GAP_X = 46;
const GAP_Y = 56;
const RADIUS = 12;
const MAX_NODES = 2000; // past this the graph is a table of counts, not a drawing

function layers(tasks: Map<number, ITaskNode>): Map<number, number> {
  const depth = new Map<number, number>();
  const visit = (id: number, seen: Set<number>): number => {
    const known = depth.get(id);
    if (known !== undefined) {
      return known;
    }
    const node = tasks.get(id);
    if (!node || seen.has(id)) {
      return 0;
    }
    seen.add(id);
    let level = 0;
    for (const dep of node.deps) {
      if (tasks.has(dep)) {
        level = Math.max(level, visit(dep, seen) + 1);
      }
    }
    depth.set(id, level);
    return level;
  };
  for (const id of tasks.keys()) {
    visit(id, new Set());
  }
  return depth;
}

function element<K extends keyof SVGElementTagNameMap>(
  name: K,
  attributes: Record<string, string | number>
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) {
    node.setAttribute(key, String(value));
  }
  return node;
}

/** Replace the content of `host` with the drawing of `tasks`. */
export function drawGraph(host: HTMLElement, tasks: Map<number, ITaskNode>): void {
  host.replaceChildren();
  if (tasks.size === 0) {
    host.textContent = 'No task yet: the graph appears when the run submits its first task.';
    return;
  }
  if (tasks.size > MAX_NODES) {
    const counts = new Map<string, number>();
    for (const task of tasks.values()) {
      counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
    }
    host.textContent = Array.from(counts, ([state, count]) => `${state}: ${count}`).join(' · ');
    return;
  }
  const depth = layers(tasks);
  const rows = new Map<number, ITaskNode[]>();
  for (const task of tasks.values()) {
    const level = depth.get(task.id) ?? 0;
    rows.set(level, [...(rows.get(level) ?? []), task]);
  }
  const position = new Map<number, [number, number]>();
  let width = 0;
  for (const [level, row] of rows) {
    row.sort((a, b) => a.id - b.id);
    row.forEach((task, index) => {
      position.set(task.id, [RADIUS + 8 + index * GAP_X, RADIUS + 8 + level * GAP_Y]);
    });
    width = Math.max(width, row.length);
  }
  const svg = element('svg', {
    class: 'eflows-graph-svg',
    width: width * GAP_X + 2 * RADIUS,
    height: rows.size * GAP_Y + RADIUS
  });
  for (const task of tasks.values()) {
    const [x, y] = position.get(task.id)!;
    for (const dep of task.deps) {
      const from = position.get(dep);
      if (from) {
        svg.appendChild(element('line', { x1: from[0], y1: from[1], x2: x, y2: y, class: 'eflows-edge' }));
      }
    }
  }
  for (const task of tasks.values()) {
    const [x, y] = position.get(task.id)!;
    const circle = element('circle', {
      cx: x,
      cy: y,
      r: RADIUS,
      fill: STATE_COLOURS[task.state] ?? '#999',
      class: 'eflows-node',
      'data-state': task.state
    });
    const title = element('title', {});
    title.textContent = `#${task.id} ${task.name}: ${task.state}${task.error ? `\n${task.error}` : ''}`;
    circle.appendChild(title);
    svg.appendChild(circle);
  }
  host.appendChild(svg);
}
