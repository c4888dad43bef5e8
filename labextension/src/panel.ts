/**
 * The side panel: executions live (state, workflow, site, progress; open graph, logs or
 * outputs), then sites and credentials at a glance, whatever notebook is open.
 */
import { Widget } from '@lumino/widgets';

import { IExecution, sitesText } from './api';
import { button, h, shortTime, stateBadge } from './dom';
import { EflowsModel } from './model';

export type DetailView = 'graph' | 'logs' | 'outputs';

export class EflowsPanel extends Widget {
  private _body = h('div', { class: 'eflows-panel-body' });

  constructor(
    readonly model: EflowsModel,
    readonly openDetail: (execution: IExecution, view: DetailView) => void,
    readonly openPortal: () => void
  ) {
    super();
    this.id = 'eflows-panel';
    this.addClass('eflows-panel');
    this.title.caption = 'eFlows4HPC: executions, sites, credentials';
    const header = h('div', { class: 'eflows-panel-header' },
      h('h2', {}, 'eFlows4HPC'),
      button('Open portal', 'Open the eFlows4HPC portal (Voila)', () => this.openPortal()),
      button('Refresh', 'Read executions, sites and credentials again', () =>
        void this.model.refresh(true)));
    this.node.append(header, this._body);
    model.changed.connect(this.render, this);
    this.render();
  }

  render(): void {
    const model = this.model;
    const parts: Node[] = [];
    if (model.error) {
      parts.push(h('div', { class: 'eflows-error', role: 'alert' },
        `Cannot read the eflows API: ${model.error}`));
    }
    if (!model.loaded && !model.error) {
      parts.push(h('div', { class: 'eflows-empty' }, 'Loading…'));
      this._body.replaceChildren(...parts);
      return;
    }
    parts.push(this._executions(), this._sites(), this._credentials());
    this._body.replaceChildren(...parts);
  }

  private _executions(): HTMLElement {
    const model = this.model;
    const section = h('section', { class: 'eflows-section eflows-executions' },
      h('h3', {}, `Executions (${model.running.length} running)`));
    if (model.executions.length === 0) {
      section.append(h('p', { class: 'eflows-empty' },
        'No executions yet. Register a workflow and deploy it from the portal; its runs ' +
        'appear here live.'));
      return section;
    }
    const list = h('ul', { class: 'eflows-runs' });
    for (const execution of model.executions) {
      const progress = model.progress.get(execution.id);
      const [done, total] = progress ? progress.counts : [0, 0];
      const bar = h('progress', { class: 'eflows-progress', max: String(Math.max(total, 1)),
        value: String(execution.state === 'done' ? Math.max(total, 1) : done) });
      const summary = progress?.summary() ?? '';
      list.append(h('li', { class: 'eflows-run', 'data-execution': execution.id,
                            title: `${execution.id} · started ${shortTime(execution.created_at)}` },
        h('div', { class: 'eflows-run-line' },
          stateBadge(execution.state),
          h('span', { class: 'eflows-run-workflow eflows-ellipsis' }, model.workflowName(execution)),
          h('span', { class: 'eflows-run-site eflows-ellipsis' }, sitesText(execution))),
        jobLine(execution),
        execution.finished && !progress ? null : h('div', { class: 'eflows-run-line' }, bar,
          h('span', { class: 'eflows-progress-text' }, summary)),
        h('div', { class: 'eflows-run-line eflows-actions' },
          h('span', { class: 'eflows-run-time' }, shortTime(execution.created_at)),
          button('Graph', 'Open the task graph', () => this.openDetail(execution, 'graph')),
          button('Logs', 'Open the log', () => this.openDetail(execution, 'logs')),
          button('Outputs', 'Show the outputs', () => this.openDetail(execution, 'outputs')))));
    }
    section.append(list);
    return section;
  }

  private _sites(): HTMLElement {
    const section = h('section', { class: 'eflows-section eflows-sites' }, h('h3', {}, 'Sites'));
    if (this.model.sites.length === 0) {
      section.append(h('p', { class: 'eflows-empty' },
        'No site yet: connect one in the portal (Sites) to run workflows on a cluster. ' +
        'Without one, workflows run here, on the local engine.'));
      return section;
    }
    const list = h('ul', { class: 'eflows-list' });
    for (const site of this.model.sites) {
      const key = site.host_key
        ? h('span', { class: 'eflows-ok', title: site.host_key.fingerprint }, '✔ host key trusted')
        : h('span', { class: 'eflows-warn' }, 'host key not trusted yet');
      list.append(h('li', { 'data-site': site.name },
        h('b', {}, site.name), ` ${site.login}@${site.host}:${site.port} `, key));
    }
    section.append(list);
    return section;
  }

  private _credentials(): HTMLElement {
    const section = h('section', { class: 'eflows-section eflows-credentials' },
      h('h3', {}, 'Credentials'));
    if (this.model.credentials.length === 0) {
      section.append(h('p', { class: 'eflows-empty' },
        'No credential yet: generate or import an SSH key in the portal (Credentials).'));
      return section;
    }
    const list = h('ul', { class: 'eflows-list' });
    for (const credential of this.model.credentials) {
      list.append(h('li', { 'data-credential': credential.name, title: credential.fingerprint },
        h('b', {}, credential.name), ` ${credential.kind} `,
        h('code', {}, credential.fingerprint.slice(0, 19) + '…')));
    }
    section.append(list);
    return section;
  }
}

/**
 * A remote run's batch job: its id, Slurm's state and pending reason while it is not
 * finished (``PENDING: Resources``), and its time limit; nothing for a local run.
 */
function jobLine(execution: IExecution): HTMLElement | null {
  if (execution.site === 'local' || !execution.remote_job_id) {
    return null;
  }
  const queue = execution.queue ?? {};
  const parts = [`job ${execution.remote_job_id}`];
  if (queue.state && !execution.finished) {
    parts.push(queue.reason ? `${queue.state}: ${queue.reason}` : queue.state);
  }
  if (queue.time_limit) {
    parts.push(`limit ${queue.time_limit}`);
  }
  const text = parts.join(' · ');
  return h('div', { class: 'eflows-run-line eflows-run-job' },
    h('span', { class: 'eflows-run-queue eflows-ellipsis', title: text }, text));
}
