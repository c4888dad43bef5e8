/** The status-bar item: how many executions are running (click: open the side panel). */
import { Widget } from '@lumino/widgets';

import { EflowsModel } from './model';

export class RunningItem extends Widget {
  constructor(
    readonly model: EflowsModel,
    onClick: () => void
  ) {
    super();
    this.addClass('eflows-status');
    this.node.title = 'eFlows4HPC executions running (click to open the panel)';
    this.node.addEventListener('click', onClick);
    model.changed.connect(this.render, this);
    this.render();
  }

  render(): void {
    const count = this.model.running.length;
    this.node.textContent = `eFlows: ${count} running`;
    this.node.dataset.running = String(count);
  }
}
