/**
 * eFlows4HPC in JupyterLab: a side panel listing executions live with sites and
 * credentials, a status-bar item counting running executions, and a launcher card
 * opening the portal. Everything is read from the server extension's REST API.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ILauncher } from '@jupyterlab/launcher';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';

import { EflowsApi, IExecution } from './api';
import { ExecutionDetail } from './detail';
import { EflowsModel } from './model';
import { DetailView, EflowsPanel } from './panel';
import { RunningItem } from './status';

// A small inline icon (no icon font, nothing fetched from elsewhere).
const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
  '<g class="jp-icon3" fill="#616161"><circle cx="5" cy="12" r="3"/><circle cx="19" cy="5" r="3"/>' +
  '<circle cx="19" cy="19" r="3"/><path d="M7.5 11 16.5 6l.9 1.7-9 5zM7.5 13l9 5-.9 1.7-9-5z"/></g></svg>';

export const eflowsIcon = new LabIcon({ name: 'eflows:icon', svgstr: ICON_SVG });

export const PORTAL_NOTEBOOK = 'eflows-portal.ipynb';

const PORTAL_CONTENT = {
  cells: [
    {
      cell_type: 'markdown',
      id: 'eflows-portal-title',
      metadata: {},
      source: ['# eFlows4HPC portal']
    },
    {
      cell_type: 'code',
      execution_count: null,
      id: 'eflows-portal-cell',
      metadata: {},
      outputs: [],
      source: ['from eflows_kernel import portal\n', '\n', 'portal()']
    }
  ],
  metadata: {
    kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' },
    language_info: { name: 'python' }
  },
  nbformat: 4,
  nbformat_minor: 5
};

const COMMANDS = {
  openPortal: 'eflows:open-portal',
  openPanel: 'eflows:open-panel',
  openExecution: 'eflows:open-execution'
};

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@eflows4hpc/labextension:plugin',
  description: 'eFlows4HPC executions, sites and credentials in a side panel',
  autoStart: true,
  optional: [ILauncher, IStatusBar, ICommandPalette, ILayoutRestorer, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const api = new EflowsApi(app.serviceManager.serverSettings);
    const model = new EflowsModel(api);
    const details = new Map<string, MainAreaWidget<ExecutionDetail>>();

    const openDetail = (execution: IExecution, view: DetailView): void => {
      let widget = details.get(execution.id);
      if (!widget || widget.isDisposed) {
        const content = new ExecutionDetail(api, execution, view);
        widget = new MainAreaWidget({ content });
        widget.id = `eflows-execution-${execution.id}`;
        widget.title.icon = eflowsIcon;
        details.set(execution.id, widget);
        app.shell.add(widget, 'main');
      } else {
        widget.content.showView(view);
      }
      app.shell.activateById(widget.id);
    };

    const openPortal = async (): Promise<void> => {
      // Voila renders a notebook of the server's root: write the portal's one cell there
      // once, then open it in a new browser tab.
      const contents = app.serviceManager.contents;
      try {
        await contents.get(PORTAL_NOTEBOOK, { content: false });
      } catch {
        await contents.save(PORTAL_NOTEBOOK, { type: 'notebook', format: 'json',
                                               content: PORTAL_CONTENT });
      }
      const url = URLExt.join(api.settings.baseUrl, 'voila', 'render', PORTAL_NOTEBOOK);
      window.open(url, '_blank');
    };

    const panel = new EflowsPanel(model, openDetail, () => void openPortal());
    panel.title.icon = eflowsIcon;
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, 'eflows-panel');
    model.start();

    app.commands.addCommand(COMMANDS.openPortal, {
      label: 'eFlows4HPC portal',
      caption: 'Credentials, sites, workflows, deploy and executions (Voila dashboard)',
      icon: eflowsIcon,
      execute: () => openPortal()
    });
    app.commands.addCommand(COMMANDS.openPanel, {
      label: 'Show eFlows4HPC executions',
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(COMMANDS.openExecution, {
      label: 'Open an eFlows4HPC execution',
      execute: async args => {
        const execution = await api.execution(String(args.id));
        openDetail(execution, (args.view as DetailView) ?? 'graph');
      }
    });
    launcher?.add({ command: COMMANDS.openPortal, category: 'Other', rank: 1 });
    palette?.addItem({ command: COMMANDS.openPortal, category: 'eFlows4HPC' });
    palette?.addItem({ command: COMMANDS.openPanel, category: 'eFlows4HPC' });
    if (statusBar) {
      const item = new RunningItem(model, () => app.shell.activateById(panel.id));
      statusBar.registerStatusItem('@eflows4hpc/labextension:running', {
        item,
        align: 'left',
        rank: 50
      });
    }
  }
};

export default plugin;
