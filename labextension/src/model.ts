/**
 * What the panel and the status bar show, read from the REST API: executions polled every
 * few seconds, the progress of running ones followed over their event streams, sites,
 * credentials and workflow names refreshed less often. One model serves every view, so
 * one set of requests runs however many views there are.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { EflowsApi, ICredential, IExecution, ISite } from './api';
import { RunProgress } from './progress';

const MAX_STREAMS = 3; // a browser allows ~6 connections per host; leave most to Jupyter

export class EflowsModel {
  executions: IExecution[] = [];
  sites: ISite[] = [];
  credentials: ICredential[] = [];
  workflowNames = new Map<string, string>();
  progress = new Map<string, RunProgress>();
  error = '';
  loaded = false;
  private _streams = new Map<string, AbortController>();
  private _timer: number | undefined;
  private _ticks = 0;
  private _changed = new Signal<this, void>(this);

  constructor(
    readonly api: EflowsApi = new EflowsApi(),
    readonly interval = 3000
  ) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get running(): IExecution[] {
    return this.executions.filter(e => !e.finished);
  }

  start(): void {
    if (this._timer === undefined) {
      void this.refresh(true);
      this._timer = window.setInterval(() => void this.refresh(), this.interval);
    }
  }

  dispose(): void {
    window.clearInterval(this._timer);
    this._timer = undefined;
    for (const controller of this._streams.values()) {
      controller.abort();
    }
    this._streams.clear();
  }

  /** Read the executions (and, every fifth time or when asked, sites and credentials). */
  async refresh(everything = false): Promise<void> {
    this._ticks += 1;
    try {
      this.executions = await this.api.executions();
      if (everything || this._ticks % 5 === 0 || this._unknownWorkflow()) {
        const [sites, credentials, workflows] = await Promise.all([
          this.api.sites(),
          this.api.credentials(),
          this.api.workflows()
        ]);
        this.sites = sites.filter(s => s.name !== 'local');
        this.credentials = credentials;
        this.workflowNames = new Map(workflows.map(w => [w.id, `${w.name} ${w.version}`]));
      }
      this.error = '';
      this.loaded = true;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
    this._followRunning();
    this._changed.emit();
  }

  workflowName(execution: IExecution): string {
    return this.workflowNames.get(execution.workflow_id) ?? execution.workflow_id;
  }

  private _unknownWorkflow(): boolean {
    return this.executions.some(e => !this.workflowNames.has(e.workflow_id));
  }

  private _followRunning(): void {
    for (const execution of this.running) {
      if (this._streams.size >= MAX_STREAMS) {
        break;
      }
      if (this._streams.has(execution.id)) {
        continue;
      }
      const progress = this.progress.get(execution.id) ?? new RunProgress();
      this.progress.set(execution.id, progress);
      const controller = new AbortController();
      this._streams.set(execution.id, controller);
      this.api
        .follow(
          execution.id,
          progress.lastSeq,
          event => {
            progress.apply(event);
            this._changed.emit();
          },
          controller.signal
        )
        .catch(() => undefined) // retried at the next refresh while the run goes on
        .finally(() => this._streams.delete(execution.id));
    }
  }
}
