"""The local stack's own configuration: every environment variable `make run` understands, read once here.

The functions never see these; they get the environment template.yaml gives them (local/bootstrap.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from local.cfn import PROJECT_ROOT


class LocalStackSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_environment(cls) -> LocalStackSettings:
        """The variables named as the fields, in any case (GATEWAY_PORT, DEMO, ...); the rest is ignored.
        (`python -m local.run` runs without the layer on its path, so not customer_sync.config's reader.)"""
        return cls.model_validate({name.lower(): value for name, value in os.environ.items()})

    host: str = "127.0.0.1"
    # 3000 is `sam local start-api`'s port. 0 picks a free port (the tests do).
    gateway_port: int = Field(default=3000, ge=0, le=65535)
    # Fixed defaults so README commands work; a busy default port falls back to a free one (printed).
    moto_port: int = Field(default=5000, ge=0, le=65535)
    qbo_emulator_port: int = Field(default=8001, ge=0, le=65535)
    paysimple_emulator_port: int = Field(default=8002, ge=0, le=65535)

    demo: bool = True
    admin_token: str | None = Field(default=None, min_length=16)

    # Set any of these to use that service instead of starting its emulator.
    qbo_api_base_url: str | None = None
    qbo_token_url: str | None = None
    qbo_authorize_url: str | None = None
    paysimple_api_base_url: str | None = None
    # The QBO app's OAuth client when QBO is not the emulator (the emulator's own client otherwise).
    qbo_client_id: str | None = None
    qbo_client_secret: str | None = None

    # The QBO app's webhook verifier token: QBO_WEBHOOK_VERIFIER_TOKEN, or a random one (printed). The QBO
    # emulator signs its webhooks with it; with another QBO, set the one of your Intuit app.
    qbo_webhook_verifier_token: str | None = Field(default=None, min_length=16)
    qbo_revoke_url: str | None = None
    # Seconds between runs of the template's scheduled functions (daily in AWS); 0: only on request
    # (POST /_local/schedules/<Function>, local/schedules.py).
    schedule_interval_seconds: int = Field(default=600, ge=0)

    # Seconds before the changes of a failed sync invocation (a crash, a timeout) are delivered again; AWS
    # waits the queue's visibility timeout, 540 s (local/poller.py).
    visibility_timeout_seconds: int = Field(default=5, ge=1, le=360)
    # Concurrent instances of each API function (IngestFunction, AdminFunction).
    api_max_concurrency: int = Field(default=2, ge=1, le=16)
    log_dir: Path = PROJECT_ROOT / ".local-stack" / "logs"
    # When set, the URLs and the admin token are written there as JSON once the stack is ready (tests).
    stack_info_file: Path | None = None

    @property
    def uses_qbo_emulator(self) -> bool:
        return not (self.qbo_api_base_url or self.qbo_token_url or self.qbo_authorize_url)

    @property
    def uses_paysimple_emulator(self) -> bool:
        return not self.paysimple_api_base_url
