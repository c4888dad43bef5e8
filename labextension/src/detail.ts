/**
 * One execution in the main area: state, the live task graph (from its event stream), the
 * log (read incrementally by byte offset) and the outputs, one view at a time.
 */
import { Widget } from '@lumino/widgets';

import { EflowsApi, IExecution, sitesText } from './api';
import { h, stateBadge } from './dom';
import { drawGraph } from './graph';
import type { DetailView } from './panel';
import { RunProgress } from './progress';

const LOG_LIMIT = 200_000; // characters kept (the tail)
const LOG_POLL_MS = 2000;

export class ExecutionDetail extends Widget {
  readonly progress = new RunProgress();
  private _header = h('div', { class: 'eflows-detail-header' });
  private _tabs = h('div', { class: 'eflows-detail-tabs', role: 'tablist' });
  private _views: Record<DetailView, HTMLElement> = {
    graph: h('div', { class: 'eflows-view eflows-graph' }),
    logs: h('pre', { class: 'eflows-view eflows-logs' }),
    outputs: h('div', { class: 'eflows-view eflows-outputs' })
  };
  private _abort = new AbortController();
  private _logOffset = 0;
  private _logTimer: number | undefined;
  private _drawPending = false;
  execution: IExecution;

  constructor(
    readonly api: EflowsApi,
    execution: IExecution,
    view: DetailView
  ) {
    super();
    this.execution = execution;
    this.id = `eflows-detail-${execution.id}`;
    this.addClass('eflows-detail');
    this.title.label = `Run ${execution.id.slice(0, 8)}`;
    this.title.caption = `eFlows execution ${execution.id}`;
    this.title.closable = true;
    for (const name of ['graph', 'logs', 'outputs'] as DetailView[]) {
      const tab = h('button', { class: 'jp-Button eflows-tab', role: 'tab', 'data-view': name },
        name[0].toUpperCase() + name.slice(1));
      tab.addEventListener('click', () => this.showView(name));
      this._tabs.append(tab);
    }
    this.node.append(this._header, this._tabs, ...Object.values(this._views));
    this.showView(view);
    this._render();
    void this._follow();
    void this._pollLogs();
  }

  showView(view: DetailView): void {
    for (const [name, node] of Object.entries(this._views)) {
      node.hidden = name !== view;
    }
    for (const tab of Array.from(this._tabs.children)) {
      tab.classList.toggle('eflows-tab-current', (tab as HTMLElement).dataset.view === view);
      tab.setAttribute('aria-selected', String((tab as HTMLElement).dataset.view === view));
    }
  }

  dispose(): void {
    this._abort.abort();
    window.clearTimeout(this._logTimer);
    super.dispose();
  }

  private async _follow(): Promise<void> {
    // The stream ends when the run is over; reconnect from the last seq if it drops before.
    while (!this._abort.signal.aborted) {
      try {
        await this.api.follow(this.execution.id, this.progress.lastSeq, event => {
          this.progress.apply(event);
          this._scheduleDraw();
        }, this._abort.signal);
      } catch {
        // dropped: try again below
      }
      try {
        this.execution = await this.api.execution(this.execution.id);
      } catch {
        // shown as it was; the next loop tries again
      }
      this._render();
      if (this.execution.finished || this._abort.signal.aborted) {
        return;
      }
      await new Promise(resolve => window.setTimeout(resolve, 1000));
    }
  }

  private async _pollLogs(): Promise<void> {
    try {
      const { text, next_offset } = await this.api.logs(this.execution.id, this._logOffset);
      this._logOffset = next_offset;
      if (text) {
        const view = this._views.logs;
        view.textContent = ((view.textContent ?? '') + text).slice(-LOG_LIMIT);
      }
      if (!this._views.logs.textContent) {
        this._views.logs.textContent = this.execution.finished ? 'The run wrote no log.' : '';
      }
      if (this.execution.finished && !text) {
        return;
      }
    } catch {
      // tried again
    }
    if (!this._abort.signal.aborted) {
      this._logTimer = window.setTimeout(() => void this._pollLogs(), LOG_POLL_MS);
    }
  }

  private _scheduleDraw(): void {
    if (!this._drawPending) {
      this._drawPending = true; // at most one redraw per animation frame
      window.requestAnimationFrame(() => {
        this._drawPending = false;
        drawGraph(this._views.graph, this.progress.tasks);
        this._renderHeader();
      });
    }
  }

  private _renderHeader(): void {
    const e = this.execution;
    const summary = this.progress.summary();
    this._header.replaceChildren(
      h('b', {}, e.id), ' ', stateBadge(e.state), ` on ${sitesText(e)}`,
      e.remote_job_id ? ` (job ${e.remote_job_id})` : '',
      summary ? h('span', { class: 'eflows-progress-text' }, ` · ${summary}`) : '');
  }

  private _render(): void {
    this._renderHeader();
    drawGraph(this._views.graph, this.progress.tasks);
    const outputs = Object.entries(this.execution.outputs ?? {});
    const view = this._views.outputs;
    if (outputs.length === 0) {
      view.replaceChildren(h('p', { class: 'eflows-empty' }, this.execution.finished
        ? 'This run produced no declared outputs.'
        : 'Outputs appear here when the run has finished.'));
    } else {
      view.replaceChildren(h('ul', { class: 'eflows-list' }, ...outputs.map(([name, value]) =>
        h('li', {}, h('code', {}, name), ': ', JSON.stringify(value)))));
    }
    if (this.execution.error) {
      view.append(h('pre', { class: 'eflows-error' }, this.execution.error));
    }
  }
}
