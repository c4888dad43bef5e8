/** Small DOM helpers: every text shown comes from users or servers, so only textContent. */

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string | null)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') {
      node.className = value;
    } else {
      node.setAttribute(key, value);
    }
  }
  for (const child of children) {
    if (child !== null) {
      node.append(child);
    }
  }
  return node;
}

export function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const node = h('button', { class: 'jp-Button eflows-button', title, type: 'button' }, label);
  node.addEventListener('click', onClick);
  return node;
}

export const STATE_ICONS: Record<string, string> = {
  queued: '…',
  'staging-in': '⇡',
  submitted: '…',
  running: '▶',
  'staging-out': '⇣',
  done: '✔',
  failed: '✘',
  cancelling: '■',
  cancelled: '■'
};

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `eflows-state eflows-state-${state}`, title: state },
    `${STATE_ICONS[state] ?? ''} ${state}`);
}

/** The time of day for today's dates, else the date: short enough for a side panel. */
export function shortTime(iso: string): string {
  const date = new Date(iso);
  if (isNaN(date.getTime())) {
    return iso;
  }
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleDateString();
}
