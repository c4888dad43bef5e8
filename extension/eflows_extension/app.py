"""The ``ExtensionApp``: configuration (traitlets) and route table.

Handlers stay thin (HTTP in, service call, JSON out); the services live in
``eflows_kernel`` and run without a server. The traits below fill the composition
root's :class:`~eflows_kernel.services.app.ServicesConfig`, and the one
:class:`~eflows_kernel.services.app.Services` of the server process lives in
``settings["eflows"]``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from jupyter_core.paths import ENV_CONFIG_PATH, SYSTEM_CONFIG_PATH
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Float, Int, List, Type, Unicode, default

from eflows_extension.handlers import data as hd
from eflows_extension.handlers import hpcwaas as hw
from eflows_extension.handlers import native as h
from eflows_extension.handlers import runs as hr
from eflows_extension.handlers import sites as hs
from eflows_extension.handlers.stream import ExecutionEventStreamHandler
from eflows_kernel.services.app import Services, ServicesConfig, eflows_data_dir
from eflows_kernel.services.executions import LOCAL_SITE
from eflows_kernel.services.sites.operator import SITES_FILE, load_sites_files

ID = r"(?P<{}>[^/]+)"
WF, EX, CRED = ID.format("workflow_id"), ID.format("execution_id"), ID.format("credential_id")
USER = ID.format("user_name")
SITE, SCHEDULE = ID.format("site_id"), ID.format("schedule_id")
API = "/eflows/api"
HPCWAAS = "/eflows/hpcwaas"


class EflowsExtensionApp(ExtensionApp):
    name = "eflows_extension"
    extension_url = "/lab"
    load_other_extensions = True

    default_engine = Unicode(
        LOCAL_SITE,
        help="Where workflows run when no site is chosen: 'local' (a Dask cluster "
             "on the Jupyter host).",
    ).tag(config=True)

    state_url = Unicode(
        None, allow_none=True,
        help="SQLAlchemy URL of the state database; None: $EFLOWS_STATE_URL, else "
             "<jupyter data dir>/eflows/state.sqlite.",
    ).tag(config=True)

    vault_key_file = Unicode(
        help="File holding the credential vault's master key (created 0600 on first use); "
             "$EFLOWS_VAULT_KEY takes precedence.",
    ).tag(config=True)

    runs_dir = Unicode(
        help="Directory of the local executions' working folders, logs and events.",
    ).tag(config=True)

    local_workers = Int(
        None, allow_none=True,
        help="Workers of the local executor; None: the executor's default.",
    ).tag(config=True)

    executor_class = Type(
        default_value="eflows_kernel.services.executions.local.LocalExecutor",
        klass="eflows_kernel.services.executions.executor.Executor",
        help="The executor of the 'local' site (runs on the Jupyter host): any class with "
             "the Executor protocol, built as cls(execution_store, runs_dir, workers=...).",
    ).tag(config=True)

    remote_executor_class = Type(
        default_value="eflows_kernel.services.deploy.RemoteExecutor",
        klass="eflows_kernel.services.executions.executor.Executor",
        help="The executor of the configured sites (deploys over SSH): any class with the "
             "Executor protocol, built as cls(execution_store, registry, site_service, "
             "runs_dir, cache_dir=..., wheel=..., poll_interval=...).",
    ).tag(config=True)

    remote_wheel = Unicode(
        None, allow_none=True,
        help="The eflows4hpc-jupyter wheel installed into the environments bootstrapped on "
             "remote sites; None: built from this installation's source tree.",
    ).tag(config=True)

    remote_cache_dir = Unicode(
        help="Where wheels and offline wheelhouses for remote sites are kept on this side.",
    ).tag(config=True)

    job_poll_interval = Float(
        2.0,
        help="Seconds between two polls of a site's scheduler (one squeue for all its runs).",
    ).tag(config=True)

    sites = List(
        Dict(), help="The centre's sites, shown to every user read-only: each a site's "
        "settings (name, host, port, scheduler, partition, qos, account, python, "
        "workdir, connection) plus host_key (pinned by the operator: a known_hosts-style "
        "line) and login_template ('{user}' is the hub user; the default). See "
        "docs/hpc-centre.md.",
    ).tag(config=True)

    sites_files = List(
        Unicode(), help="YAML files with more of the centre's sites ('sites: [...]'); "
        f"by default {SITES_FILE} in the system and environment Jupyter config "
        "directories (never the user's own).",
    ).tag(config=True)

    @default("sites_files")
    def _default_sites_files(self) -> list[str]:
        return [os.path.join(d, SITES_FILE) for d in [*ENV_CONFIG_PATH, *SYSTEM_CONFIG_PATH]]

    catalogue_paths = List(
        Unicode(), help="The centre's published workflow catalogue: folders in the "
        "eFlows4HPC workflow-registry layout (<workflow>/tosca/*.yml, a git checkout "
        "the centre keeps current), read at start and listed to every user read-only. "
        "See docs/hpc-centre.md.",
    ).tag(config=True)

    catalogue_url = Unicode(
        None, allow_none=True,
        help="A shared database of published workflows, read (never written) by every "
             "user's server: a SQLAlchemy URL of a state database in which the centre's "
             "workflow developers register workflows (e.g. PostgreSQL, or a SQLite file "
             "users may read).",
    ).tag(config=True)

    catalogue_access = Dict(
        help="Who may see and trigger each published workflow: workflow name (or a "
        "shell pattern such as 'minimal_workflow.*') -> {'users': [...], 'groups': "
        "[...]} of hub users and hub groups ('hpcwaas-authorized-users': 'a,b' works "
        "too). The first matching entry decides; a workflow none matches is open to "
        "every user, as an untagged HPCWaaS workflow (end with '*': {'groups': "
        "['staff']} to keep the others to one group).",
    ).tag(config=True)

    local_user = Unicode(
        None, allow_none=True,
        help="Who requests act as when no hub identity comes with them (no JupyterHub): "
             "None: $JUPYTERHUB_USER, else the account the server runs as. Also the "
             "user of the operator sites' login_template.",
    ).tag(config=True)

    local_groups = List(
        Unicode(), help="The groups of local_user, for catalogue_access grants when no "
        "hub identity comes with a request.",
    ).tag(config=True)

    allow_private_urls = Bool(
        False,
        help="Let stage-in URLs name loopback, link-local and private addresses (a data "
             "server on the site's own network). Off: the site would fetch them from inside "
             "its network, metadata services included.",
    ).tag(config=True)

    image_store = Unicode(
        None, allow_none=True,
        help="Where container images built for workflow steps are kept (a webdav(s)://, "
             "s3:// or http(s):// location; an image is <store>/<workflow>/<step_id>.sif): "
             "the eFlows4HPC image transfer movements fetch them from here.",
    ).tag(config=True)

    @default("remote_cache_dir")
    def _default_remote_cache_dir(self) -> str:
        return str(eflows_data_dir() / "cache")

    @default("vault_key_file")
    def _default_vault_key_file(self) -> str:
        return str(ServicesConfig().vault_key_path)

    @default("runs_dir")
    def _default_runs_dir(self) -> str:
        return str(ServicesConfig().runs_path)

    def services_config(self) -> ServicesConfig:
        """The composition root's configuration, from this app's traits."""
        return ServicesConfig(
            state_url=self.state_url, vault_key_file=self.vault_key_file,
            runs_dir=self.runs_dir, local_workers=self.local_workers,
            local_executor_class=self.executor_class,
            remote_executor_class=self.remote_executor_class,
            remote_wheel=self.remote_wheel, remote_cache_dir=self.remote_cache_dir,
            job_poll_interval=self.job_poll_interval,
            operator_sites=(*self.sites, *load_sites_files(self.sites_files)),
            hub_user=self.local_user or None,
            catalogue_paths=tuple(self.catalogue_paths),
            catalogue_access=dict(self.catalogue_access), catalogue_url=self.catalogue_url,
            local_groups=tuple(self.local_groups),
            allow_private_urls=self.allow_private_urls, image_store=self.image_store)

    def initialize_settings(self) -> None:
        """Build the services; if the installation is broken (an empty or newer state
        database, a bad or missing vault key), the routes still exist and answer 503 with
        the reason (``handlers/base.py``) rather than the extension vanishing into 404s."""
        self.route_service_logs()
        try:
            services = Services(self.services_config())
        except Exception as exc:
            self._unavailable(exc)
            return
        self.settings["eflows"] = services
        self.log.info("eflows: state in %s", services.store)
        try:
            services.start()
        except Exception as exc:
            self.settings.pop("eflows")
            services.close()
            self._unavailable(exc)
            return
        self.report_catalogue(services)
        self.advertise_to_kernels()

    def route_service_logs(self) -> None:
        """The services' own loggers (``eflows_kernel.*``: re-attaches after a restart,
        job ends, movements) write to this server's log, at its level: Python's default
        drops their INFO lines, so an operator never saw a restart re-attach anything.
        A site that configured logging itself (``eflows_kernel`` or the root logger,
        which these lines reach anyway) keeps its own handlers."""
        logger = logging.getLogger("eflows_kernel")
        if logger.handlers or logging.getLogger().handlers:
            return
        source = self.log
        while isinstance(source, logging.Logger) and not source.handlers and \
                source.propagate and source.parent is not None:
            source = source.parent  # the logger whose handlers this app's lines reach
        for handler in getattr(source, "handlers", ()):
            logger.addHandler(handler)
        logger.setLevel(self.log.getEffectiveLevel())

    def report_catalogue(self, services: Services) -> None:
        """Say what the centre publishes, and which grants match nothing (a typo leaves
        the workflow meant open to every user)."""
        catalogue = services.catalogue
        if catalogue.published:
            self.log.info("eflows: %d published workflow(s) in the centre's catalogue",
                          len(catalogue.published))
        for pattern in catalogue.unused_grants():
            self.log.warning("eflows: catalogue_access %r matches no published workflow",
                             pattern)

    def _unavailable(self, exc: Exception) -> None:
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        self.settings["eflows_unavailable"] = reason
        self.log.error("eflows: the services cannot start: %s", reason)

    def advertise_to_kernels(self) -> None:
        """Export ``EFLOWS_URL``/``EFLOWS_TOKEN`` so kernels find this server unaided.

        Kernels inherit the server's environment, and ``eflows_kernel.client.connect()``
        reads these variables, so a notebook talks to the services of the server that
        started it without being told its address or token. Values already set win
        (a user pointing kernels elsewhere on purpose). Under JupyterHub the
        single-user server has no token of its own but accepts the hub-issued
        ``$JUPYTERHUB_API_TOKEN`` it was started with, which is used instead.
        """
        server = self.serverapp
        if server is None or getattr(server, "sock", ""):  # a Unix socket: no http URL
            return
        os.environ.setdefault("EFLOWS_URL", server.connection_url)
        token = getattr(server.identity_provider, "token", "") or \
            os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if token:
            os.environ.setdefault("EFLOWS_TOKEN", token)

    def initialize_handlers(self) -> None:
        self.handlers.extend(self.route_table())

    async def stop_extension(self) -> None:
        services = self.settings.pop("eflows", None)
        if services is not None:
            services.close()

    @staticmethod
    def route_table() -> list[tuple[str, Any]]:
        """Every route of the extension (tests check each is authenticated)."""
        return [
            (rf"{API}/status", h.StatusHandler),
            (rf"{API}/openapi.json", h.OpenAPIHandler),
            (rf"{API}/schemas/workflow-spec", h.WorkflowSpecSchemaHandler),
            (rf"{API}/workflows", h.WorkflowsHandler),
            (rf"{API}/workflows/import", h.WorkflowImportHandler),
            (rf"{API}/workflows/{WF}", h.WorkflowHandler),
            (rf"{API}/workflows/{WF}/executions", h.WorkflowExecutionsHandler),
            (rf"{API}/credentials", h.CredentialsHandler),
            (rf"{API}/credentials/import", h.CredentialImportHandler),
            (rf"{API}/credentials/{CRED}", h.CredentialHandler),
            (rf"{API}/executions", h.ExecutionsHandler),
            (rf"{API}/executions/{EX}", h.ExecutionHandler),
            (rf"{API}/executions/{EX}/logs", h.ExecutionLogsHandler),
            (rf"{API}/executions/{EX}/steps", h.ExecutionStepsHandler),
            (rf"{API}/executions/{EX}/events", h.ExecutionEventsHandler),
            (rf"{API}/executions/{EX}/events/stream", ExecutionEventStreamHandler),
            (rf"{API}/executions/{EX}/record", hr.RunRecordHandler),
            (rf"{API}/executions/{EX}/archive", hr.RunArchiveHandler),
            (rf"{API}/executions/{EX}/checkpoint", hr.RunCheckpointHandler),
            (rf"{API}/executions/{EX}/resume", hr.RunResumeHandler),
            (rf"{API}/executions/{EX}/files", hr.RunFilesHandler),
            (rf"{API}/executions/{EX}/files/(?P<path>.+)", hr.RunFileHandler),
            (rf"{API}/executions/{EX}/preview", hr.RunPreviewHandler),
            (rf"{API}/executions/{EX}/site-files", hr.SiteRunFilesHandler),
            (rf"{API}/executions/{EX}/site-files/(?P<path>.+)", hr.SiteRunFileHandler),
            (rf"{API}/executions/{EX}/step-files", hr.StepRunFilesHandler),
            (rf"{API}/sites", hs.SitesHandler),
            (rf"{API}/sites/{SITE}", hs.SiteHandler),
            (rf"{API}/sites/{SITE}/scan", hs.SiteScanHandler),
            (rf"{API}/sites/{SITE}/trust", hs.SiteTrustHandler),
            (rf"{API}/sites/{SITE}/check", hs.SiteCheckHandler),
            (rf"{API}/sites/{SITE}/authorize", hs.SiteAuthorizeHandler),
            (rf"{API}/sites/{SITE}/revoke", hs.SiteRevokeHandler),
            (rf"{API}/data-credentials", hd.DataCredentialsHandler),
            (rf"{API}/data-credentials/{CRED}", hd.DataCredentialHandler),
            (rf"{API}/transfers", hd.TransfersHandler),
            (rf"{API}/transfers/{SCHEDULE}", hd.TransferHandler),
            (rf"{API}/transfers/{SCHEDULE}/pause", hd.TransferPauseHandler),
            (rf"{API}/transfers/{SCHEDULE}/resume", hd.TransferResumeHandler),
            (rf"{HPCWAAS}/workflows", hw.HPCWaaSWorkflowsHandler),
            (rf"{HPCWAAS}/workflows/{WF}", hw.HPCWaaSWorkflowHandler),
            (rf"{HPCWAAS}/executions/{EX}", hw.HPCWaaSExecutionHandler),
            (rf"{HPCWAAS}/executions/{EX}/logs", hw.HPCWaaSLogsHandler),
            (rf"{HPCWAAS}/ssh_keys", hw.HPCWaaSSshKeysHandler),
            (rf"{HPCWAAS}/users/{USER}/ssh_key", hw.HPCWaaSUserSshKeyHandler),
        ]
