/**
 * The eflows REST API under `{baseUrl}eflows/api/`, through JupyterLab's ServerConnection,
 * so the server's token and XSRF conventions apply exactly as for JupyterLab's own calls.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IExecution {
  id: string;
  workflow_id: string;
  /** A step graph's first step's site; `sites` has every site it runs on. */
  site: string;
  sites?: string[];
  credential_id: string | null;
  state: string;
  status: string;
  finished: boolean;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  remote_job_id: string | null;
  /** Slurm's word on the job (remote runs): state, pending reason, time limit. */
  queue?: { state?: string; reason?: string; time_limit?: string } | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  state_history: { state: string; at: string; detail: string | null }[];
}

export interface ISite {
  id: string;
  name: string;
  host: string;
  port: number;
  login: string;
  scheduler: string;
  host_key: { type: string; fingerprint: string } | null;
}

export interface ICredential {
  id: string;
  name: string;
  kind: string;
  fingerprint: string;
  created_at: string;
}

export interface IWorkflowSummary {
  id: string;
  name: string;
  version: string;
}

export interface IEvent {
  seq?: number;
  type?: string;
  [key: string]: unknown;
}

/** A failed request: the API's own message (written for people) and the HTTP status. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

export class EflowsApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  url(path: string): string {
    return URLExt.join(this.settings.baseUrl, 'eflows', 'api', path);
  }

  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(this.url(path), init, this.settings);
    } catch (error) {
      throw new ApiError(`cannot reach the server: ${error}`, 0);
    }
    const text = await response.text();
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) {
      const message = body?.message ?? `${response.status} ${response.statusText}`;
      throw new ApiError(String(message), response.status);
    }
    return body as T;
  }

  async executions(limit = 100): Promise<IExecution[]> {
    const page = await this.request<{ items: IExecution[] }>(`executions?limit=${limit}`);
    return page.items;
  }

  execution(id: string): Promise<IExecution> {
    return this.request<IExecution>(`executions/${encodeURIComponent(id)}`);
  }

  async logs(id: string, offset: number): Promise<{ text: string; next_offset: number }> {
    return this.request(`executions/${encodeURIComponent(id)}/logs?offset=${offset}`);
  }

  async sites(): Promise<ISite[]> {
    return (await this.request<{ sites: ISite[] }>('sites')).sites;
  }

  async credentials(): Promise<ICredential[]> {
    return (await this.request<{ items: ICredential[] }>('credentials')).items;
  }

  async workflows(): Promise<IWorkflowSummary[]> {
    return (await this.request<{ items: IWorkflowSummary[] }>('workflows?limit=1000')).items;
  }

  /**
   * Follow `executions/<id>/events/stream` (server-sent events) from `fromSeq`, calling
   * `onEvent` for each; resolves when the server ends the stream (the run is over and
   * every event was sent) or `signal` aborts. fetch, not EventSource: EventSource cannot
   * send the token header ServerConnection uses.
   */
  async follow(
    id: string,
    fromSeq: number,
    onEvent: (event: IEvent) => void,
    signal: AbortSignal
  ): Promise<number> {
    let last = fromSeq;
    const path = `executions/${encodeURIComponent(id)}/events/stream?from_seq=${fromSeq}`;
    const response = await ServerConnection.makeRequest(
      this.url(path),
      { signal, headers: { Accept: 'text/event-stream' } },
      this.settings
    );
    if (!response.ok || !response.body) {
      throw new ApiError(`event stream: ${response.status} ${response.statusText}`, response.status);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block
          .split('\n')
          .filter(line => line.startsWith('data: '))
          .map(line => line.slice(6))
          .join('\n');
        if (!data) {
          continue; // a keep-alive comment
        }
        const event = JSON.parse(data) as IEvent;
        if (typeof event.seq === 'number') {
          last = Math.max(last, event.seq);
        }
        onEvent(event);
      }
    }
    return last;
  }
}

/** Every site a run is on (`cluster-a, cluster-b` for a graph on two): `site` alone is
 * a step graph's first step's. */
export function sitesText(execution: IExecution): string {
  return (execution.sites?.length ? execution.sites : [execution.site]).join(', ');
}
