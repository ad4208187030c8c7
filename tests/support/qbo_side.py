"""Following QBO under test: the sync stack (tests/support/sync_stack.py) plus QboWebhookFunction behind a
local API Gateway (local/gateway.py, the handler invoked in this process), QboChangesQueue drained into
QboChangesFunction as Lambda's event source would, and the daily jobs invoked as their schedules would.

The QBO emulator's clock is an OffsetClock (`qbo_clock`): QBO's times are whole seconds, and a test moves
it on (`later()`) before a person's edit, so the edit is not taken for the app's own write echoed back.
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config.shared import SecretNames
from functions.qbo_cdc.app import lambda_handler as cdc_handler
from functions.qbo_changes.app import lambda_handler as changes_handler
from functions.qbo_keep_alive.app import lambda_handler as keep_alive_handler
from functions.qbo_webhook.app import lambda_handler as webhook_handler
from local.api_routes import api_routes
from local.cfn import load_template
from local.gateway import Gateway
from local.invoker import InvocationResult
from tests.support.emulators import OffsetClock
from tests.support.lambda_context import LambdaContextStub
from tests.support.sqs_events import QueueEventSource
from tests.support.sync_stack import SyncStack

_IN_PROCESS: dict[str, Callable[[dict[str, Any], Any], Any]] = {"QboWebhookFunction": webhook_handler}


def _invoke(logical_id: str, event: dict[str, Any]) -> InvocationResult:
    """The gateway's invocation, in this process (so moto's mock serves the handler's AWS calls)."""
    began = time.perf_counter()
    request_id = str(uuid.uuid4())
    try:
        payload = _IN_PROCESS[logical_id](event, LambdaContextStub(function_name=logical_id))
    except Exception as error:
        return InvocationResult(
            request_id, None, {"errorType": type(error).__name__, "errorMessage": str(error)}, 0, 0
        )
    return InvocationResult(request_id, payload, None, (time.perf_counter() - began) * 1000, 0)


@dataclass
class QboSide:
    stack: SyncStack
    clock: OffsetClock
    webhook_url: str
    verifier_token: str

    @property
    def realm_id(self) -> str:
        return self.stack.realm_id

    def later(self, seconds: float = 2.0) -> None:
        """Move QBO's clock on: what happens next is at a later second than what happened before."""
        self.clock.advance(seconds)

    # -- QBO's webhooks --------------------------------------------------------------------------------

    def subscribe(self, **options: Any) -> None:
        """The app's endpoint registered with QBO, deliveries made when the test asks (`deliver`)."""
        self.stack.qbo.subscribe_webhooks(
            self.webhook_url, self.verifier_token, auto_deliver=False, **options
        )

    def deliver(self) -> dict[str, Any] | None:
        """One delivery attempt of what QBO has pending."""
        return self.stack.qbo.deliver_webhooks()

    def pending_events(self) -> list[dict[str, Any]]:
        pending: list[dict[str, Any]] = self.stack.qbo.webhooks()["pending"]
        return pending

    def apply_changes(self) -> list[dict[str, Any]]:
        """QboChangesQueue drained into QboChangesFunction, batch by batch; the batch responses."""
        source = QueueEventSource(self.stack.env["QBO_CHANGES_QUEUE_URL"], changes_handler)
        responses = []
        while (response := source.poll()) is not None:
            responses.append(response)
        return responses

    def deliver_and_apply(self) -> dict[str, Any] | None:
        delivery = self.deliver()
        self.apply_changes()
        return delivery

    # -- what people do in QBO --------------------------------------------------------------------------

    def person_edits(self, qbo_id: str, **fields: Any) -> dict[str, Any]:
        self.later()
        return self.stack.qbo.edit_customer(self.realm_id, qbo_id, **fields)

    def person_merges(self, merged_id: str, survivor_id: str) -> dict[str, Any]:
        self.later()
        return self.stack.qbo.merge_customers(self.realm_id, merged_id, survivor_id)

    # -- the daily jobs ---------------------------------------------------------------------------------

    def run_cdc_sweep(self) -> dict[str, Any]:
        result: dict[str, Any] = cdc_handler({}, LambdaContextStub(function_name="QboCdcFunction"))
        return result

    def run_keep_alive(self) -> dict[str, Any]:
        result: dict[str, Any] = keep_alive_handler(
            {}, LambdaContextStub(function_name="QboKeepAliveFunction")
        )
        return result


@contextlib.contextmanager
def _following_qbo(stack: SyncStack, clock: OffsetClock) -> Iterator[QboSide]:
    names = SecretNames(secret_prefix=stack.env["SECRET_PREFIX"])
    verifier_token = secrets.token_urlsafe(32)
    SecretsStore().put_json(names.qbo_webhook_verifier(), {"verifier_token": verifier_token})
    gateway = Gateway(api_routes(load_template()), _invoke, admin_token=secrets.token_urlsafe(24))
    gateway.bind("127.0.0.1", 0).start()
    try:
        yield QboSide(stack, clock, gateway.url + "/webhooks/qbo", verifier_token)
    finally:
        stack.qbo.unsubscribe_webhooks()
        gateway.stop()


@pytest.fixture
def qbo_side(sync_stack: SyncStack, qbo_clock: OffsetClock) -> Iterator[QboSide]:
    """Needs the test module to start the QBO emulator with `qbo_clock` (see tests/integration/qbo_side)."""
    with _following_qbo(sync_stack, qbo_clock) as side:
        yield side


@pytest.fixture
def just_connected_qbo_side(
    just_connected_sync_stack: SyncStack, qbo_clock: OffsetClock
) -> Iterator[QboSide]:
    """As qbo_side, for a company nothing has looked names up in yet (its name variants are not built)."""
    with _following_qbo(just_connected_sync_stack, qbo_clock) as side:
        yield side
