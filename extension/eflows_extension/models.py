"""The request bodies of every route, as pydantic models (the OpenAPI document's too).

Unknown keys are refused (``extra="forbid"``), except in HPCWaaS bodies, whose clients
may send more; a rejected value is never echoed back (a private key might be one).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eflows_kernel.services.executions import LOCAL_SITE


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportWorkflowsBody(_Body):
    path: str = Field(min_length=1, description="a folder of an eFlows4HPC workflow registry")


class GenerateKeyBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["ed25519", "rsa"] = "ed25519"
    bits: int | None = Field(default=None, ge=2048, le=8192,
                             description="RSA only (default 4096)")
    comment: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = Field(default=None,
                                            description="notes kept and listed with the key")


class ImportKeyBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    private_key: str = Field(min_length=1)
    passphrase: str | None = None
    certificate: str | None = None
    comment: str | None = Field(default=None, max_length=200)


SiteName = Annotated[str, Field(min_length=1, max_length=200)]
# One site for every step, or {ENVIRONMENT: SITE}: each environment role of the steps bound.
SiteBinding = SiteName | dict[SiteName, SiteName]


class ExecuteBody(_Body):
    inputs: dict[str, Any] = Field(default_factory=dict)
    site: SiteBinding = Field(default=LOCAL_SITE, description=(
        "the site every step runs on, or {ENVIRONMENT: SITE} binding each environment "
        "role of the workflow's steps"))
    credential_id: str | None = None
    login: str | None = Field(default=None, min_length=1, max_length=200,
                              description="the account on the site (default: the site's)")
    password: str | None = Field(default=None, max_length=1024,
                                 description="for a site login that asks for it: opens the "
                                             "site's connection once, never stored")
    otp: str | None = Field(default=None, max_length=64,
                            description="one-time code for a site login that asks for one")


class ResumeBody(_Body):
    password: str | None = Field(default=None, max_length=1024,
                                 description="for a site login that asks for it: opens the "
                                             "site's connection once, never stored")
    otp: str | None = Field(default=None, max_length=64,
                            description="one-time code for a site login that asks for one")


# ---- sites ------------------------------------------------------------------------------

class TrustBody(_Body):
    fingerprint: str = Field(min_length=8, max_length=200,
                             description="the SHA256 fingerprint the user confirmed")


class CheckBody(_Body):
    credential_id: str = Field(min_length=1, max_length=200)


class AuthorizeBody(_Body):
    credential_id: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, max_length=1024,
                                 description="one-time use, never stored")
    otp: str | None = Field(default=None, max_length=64,
                            description="one-time code for keyboard-interactive prompts")


# ---- HPCWaaS ----------------------------------------------------------------------------

class HPCWaaSExecuteBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # HPCWaaS clients may send more
    inputs: dict[str, Any] = Field(default_factory=dict)
    site: SiteBinding = Field(default=LOCAL_SITE, description=(
        "where to run (our addition: the HPCWaaS API has the topology name the cluster): "
        "a site, or {ENVIRONMENT: SITE}; 'local' by default"))

    @field_validator("inputs", mode="before")
    @classmethod
    def _no_inputs(cls, value: Any) -> Any:
        """``waas workflows trigger <id>`` without ``-i`` sends ``{"inputs": null}`` (a
        nil Go map marshals so): no inputs, not a mistake."""
        return {} if value is None else value


class SshKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metadata: dict[str, Any] | None = Field(
        default=None, description="notes kept and listed with the key (HPCWaaS; "
                                  "privateKey and publicKey are ignored)")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Literal["ed25519", "rsa"] = "ed25519"


# ---- data logistics ---------------------------------------------------------------------

class ServiceCredentialBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["webdav", "s3", "b2share", "http", "mlflow"]
    url: str = Field(min_length=1, max_length=2048,
                     description="the service: https://host/dav, s3://bucket, https://b2share...")
    username: str = Field(default="", max_length=200,
                          description="WebDAV user, S3 access key id")
    secret: str = Field(default="", max_length=4096,
                        description="password / S3 secret key: stored encrypted, never returned")
    token: str = Field(default="", max_length=4096,
                       description="B2SHARE access token: stored encrypted, never returned")
    options: dict[str, str] = Field(default_factory=dict,
                                    description="endpoint_url, region (S3), community (B2SHARE)")
