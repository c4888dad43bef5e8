/**
 * What a run's events say about its progress: tasks per state, the current stage and the
 * task graph (nodes with their dependencies), fed one event at a time.
 */
import { IEvent } from './api';

export interface ITaskNode {
  id: number;
  name: string;
  state: string;
  deps: number[];
  error?: string;
}

const FINAL = new Set(['done', 'cancelled']);

export class RunProgress {
  readonly tasks = new Map<number, ITaskNode>();
  stage = '';
  stageState = '';
  lastSeq = 0;
  runState = '';

  apply(event: IEvent): void {
    if (typeof event.seq === 'number') {
      this.lastSeq = Math.max(this.lastSeq, event.seq);
    }
    if (event.type === 'task' && typeof event.task === 'number') {
      const known = this.tasks.get(event.task);
      const node: ITaskNode = known ?? {
        id: event.task,
        name: String(event.name ?? `task ${event.task}`),
        state: 'pending',
        deps: Array.isArray(event.deps) ? (event.deps as number[]) : []
      };
      node.state = String(event.state ?? node.state);
      if (typeof event.error === 'string') {
        node.error = event.error;
      }
      this.tasks.set(node.id, node);
    } else if (event.type === 'stage') {
      this.stage = String(event.stage ?? '');
      this.stageState = String(event.state ?? '');
    } else if (event.type === 'run') {
      this.runState = String(event.state ?? '');
    }
  }

  /** [finished tasks, all tasks]. */
  get counts(): [number, number] {
    let done = 0;
    for (const task of this.tasks.values()) {
      if (FINAL.has(task.state) || (task.state === 'failed')) {
        done += 1;
      }
    }
    return [done, this.tasks.size];
  }

  /** A short line: "3/10 tasks" or the stage the run is in. */
  summary(): string {
    const [done, total] = this.counts;
    if (total > 0) {
      return `${done}/${total} tasks`;
    }
    return this.stage ? `${this.stage} ${this.stageState}`.trim() : '';
  }
}
