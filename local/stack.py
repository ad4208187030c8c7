"""The whole system on one machine, all on 127.0.0.1 (DESIGN.md "Local stack"):

- moto server (local/moto_process.py) holding exactly the tables, queues and secrets of template.yaml
  (local/bootstrap.py);
- the QBO and PaySimple emulators, unless QBO_*/PAYSIMPLE_* URLs point at other services;
- each function of template.yaml in its own execution environments (local/invoker.py), with the environment
  the template gives it;
- the gateway (local/gateway.py) for the template's API routes, and an SQS poller (local/poller.py) per SQS
  event source.

`Stack(settings).start()` brings it up; `stop()` stops every process and thread it started.
"""

from __future__ import annotations

import gc
import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from emulators.paysimple import PaySimpleEmulator
from emulators.qbo.server import QboEmulator
from emulators.qbo.webhooks import Subscription
from local.api_routes import api_routes
from local.bootstrap import LocalStack, create_local_resources
from local.cfn import function_spec, load_template, parameter_defaults, resources_of_type
from local.cognito_tokens import CognitoIdTokens, UserPool
from local.console_files import ConsoleFiles
from local.gateway import Gateway
from local.invoker import FunctionPool, InvocationResult, lambda_environment
from local.moto_process import MotoServerProcess
from local.poller import SqsPoller, event_source_mappings
from local.schedules import CONTROL_PREFIX, Scheduler, scheduled_functions
from local.settings import LocalStackSettings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# The stack process talks to moto like any AWS client; these stand in for an account.
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
_OAUTH_CALLBACK_PATH = "/oauth/qbo/callback"

Output = Callable[[str], None]


class StackStartError(RuntimeError):
    """The stack could not start; the message says what to change."""


@dataclass(frozen=True)
class ServiceUrls:
    qbo_api_base_url: str
    qbo_token_url: str
    qbo_authorize_url: str
    qbo_revoke_url: str
    paysimple_api_base_url: str


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(host: str, port: int, *, variable: str, explicit: bool, out: Output) -> int:
    """The configured port, or 0 (any free one) when a default port is busy; a busy port the user chose
    is an error, since they may rely on it."""
    if port == 0 or _port_is_free(host, port):
        return port
    if explicit:
        raise StackStartError(f"port {port} is in use; set {variable} to another port (0 = any free)")
    out(f"  (port {port} is in use; {variable} falls back to a free port)")
    return 0


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def memory_size(template: dict[str, Any], logical_id: str) -> int:
    props = template["Resources"][logical_id]["Properties"]
    return int(
        props.get("MemorySize", template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    )


class Stack:
    def __init__(
        self,
        settings: LocalStackSettings,
        *,
        out: Output = print,
        qbo_emulator: QboEmulator | None = None,
        paysimple_emulator: PaySimpleEmulator | None = None,
    ) -> None:
        """`qbo_emulator`/`paysimple_emulator`: a configured, not yet started emulator to use instead of the
        default one (the benchmark passes an instrumented QBO)."""
        self.settings = settings
        self._out = out
        self.admin_token = settings.admin_token or secrets.token_urlsafe(24)
        self.qbo_webhook_verifier_token = settings.qbo_webhook_verifier_token or secrets.token_urlsafe(24)
        self.scheduler: Scheduler | None = None
        self.qbo_emulator = qbo_emulator if settings.uses_qbo_emulator else None
        self.paysimple_emulator = paysimple_emulator if settings.uses_paysimple_emulator else None
        self.moto = MotoServerProcess()
        self.resources: LocalStack | None = None
        self.gateway: Gateway | None = None
        self.pools: dict[str, FunctionPool] = {}
        self.pollers: list[SqsPoller] = []
        self.service_urls: ServiceUrls | None = None
        self.template = load_template()
        # Everything started is registered here and stopped in reverse order.
        self._started = ExitStack()

    # --- start -----------------------------------------------------------------------------------------

    def start(self) -> Stack:
        try:
            self._start()
        except (RuntimeError, OSError) as error:
            self.stop()
            if isinstance(error, StackStartError):
                raise
            raise StackStartError(f"{type(error).__name__}: {error}") from error
        except BaseException:
            self.stop()
            raise
        return self

    def _port(self, name: str, port: int) -> int:
        explicit = name in self.settings.model_fields_set
        return choose_port(self.settings.host, port, variable=name.upper(), explicit=explicit, out=self._out)

    def _start(self) -> None:
        settings = self.settings
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        moto_port = self._port("moto_port", settings.moto_port)
        self._started.callback(self.moto.stop)
        self.moto.start(settings.host, moto_port, log_path=settings.log_dir / "moto.log")
        # local/bootstrap.py and the demo use default boto3 clients, which read these.
        self._started.enter_context(_environment({**_AWS_ENV, "AWS_ENDPOINT_URL": self.moto.url}))

        self.service_urls = self._start_emulators()
        gateway_port = self._port("gateway_port", settings.gateway_port)
        self.gateway = Gateway(api_routes(self.template), self.invoke, admin_token=self.admin_token)
        try:
            self.gateway.bind(settings.host, gateway_port)
        except OSError as error:
            raise StackStartError(f"the gateway cannot listen on port {gateway_port}: {error}") from None
        self._started.callback(self.gateway.stop)

        self.resources = create_local_resources(
            parameters={
                "QboApiBaseUrl": self.service_urls.qbo_api_base_url,
                "QboTokenUrl": self.service_urls.qbo_token_url,
                "QboAuthorizeUrl": self.service_urls.qbo_authorize_url,
                "QboRevokeUrl": self.service_urls.qbo_revoke_url,
                "PaySimpleApiBaseUrl": self.service_urls.paysimple_api_base_url,
            },
            secret_values={
                "QboAppSecret": self._qbo_app_secret(),
                "QboWebhookVerifierSecret": json.dumps({"verifier_token": self.qbo_webhook_verifier_token}),
            },
        )
        self.gateway.id_tokens = CognitoIdTokens(self.user_pool)
        self.gateway.console = ConsoleFiles(self.user_pool)
        self._start_functions(self.resources)
        self.scheduler = Scheduler(
            scheduled_functions(self.template),
            self.invoke,
            interval_seconds=settings.schedule_interval_seconds,
        )
        self.gateway.schedules = self.scheduler
        self.gateway.start()
        self._start_pollers(self.resources)
        self._started.callback(self.scheduler.stop)
        self.scheduler.start()
        self._register_qbo_app()
        self._freeze_start_up_objects()

    def _freeze_start_up_objects(self) -> None:
        """What start-up made (botocore's service models, the emulators' apps: about 190,000 objects) lives as
        long as the stack: out of the garbage collector's sight, so that a full collection does not walk it.

        Walking it took 0.1-0.2 s every 15-30 s of a busy stack, and meanwhile this process's threads stood
        still, the emulators' among them. The QBO emulator counts a request when its thread reaches the
        meter, so the requests that came during such a pause were counted together when it ended: bunched
        into one of QBO's one-second windows, a 429 the budget had not caused and real QBO would not send.
        """
        gc.collect()
        gc.freeze()
        self._started.callback(gc.unfreeze)  # collectable again once stopped (tests start many stacks)

    def _register_qbo_app(self) -> None:
        """What an app's owner registers in Intuit's developer portal, registered with the QBO emulator: the
        webhooks go to the gateway's /webhooks/qbo, signed with the verifier token (Intuit's retry schedule
        included), and consent redirects only to the gateway's OAuth callback."""
        if self.qbo_emulator is not None:
            self.qbo_emulator.state.webhooks.subscribe(
                Subscription(url=self.qbo_webhook_url, verifier_token=self.qbo_webhook_verifier_token)
            )
            self.qbo_emulator.state.register_redirect_uri(self.qbo_redirect_uri)

    @property
    def qbo_redirect_uri(self) -> str:
        """The admin API's OAuth callback, the app secret's redirect_uri."""
        assert self.gateway is not None
        return self.gateway.url + _OAUTH_CALLBACK_PATH

    def _start_emulators(self) -> ServiceUrls:
        defaults = parameter_defaults(self.template)
        settings = self.settings
        if settings.uses_qbo_emulator:
            port = self._port("qbo_emulator_port", settings.qbo_emulator_port)
            qbo = self.qbo_emulator or QboEmulator(
                client_id="customer-sync-local", client_secret=secrets.token_urlsafe(24)
            )
            qbo.start(settings.host, port)
            self.qbo_emulator = qbo
            self._started.callback(qbo.stop)
            qbo_urls = (qbo.base_url, qbo.token_url, qbo.authorize_url, qbo.revoke_url)
        else:
            qbo_urls = (
                settings.qbo_api_base_url or defaults["QboApiBaseUrl"],
                settings.qbo_token_url or defaults["QboTokenUrl"],
                settings.qbo_authorize_url or defaults["QboAuthorizeUrl"],
                settings.qbo_revoke_url or defaults["QboRevokeUrl"],
            )
        if settings.uses_paysimple_emulator:
            port = self._port("paysimple_emulator_port", settings.paysimple_emulator_port)
            paysimple = self.paysimple_emulator or PaySimpleEmulator()
            paysimple.start(settings.host, port)
            self.paysimple_emulator = paysimple
            self._started.callback(paysimple.stop)
            paysimple_url = paysimple.base_url
        else:
            paysimple_url = str(settings.paysimple_api_base_url)
        return ServiceUrls(*qbo_urls, paysimple_api_base_url=paysimple_url)

    def _qbo_app_secret(self) -> str:
        if self.qbo_emulator is not None:
            client_id = self.qbo_emulator.state.settings.client_id
            client_secret = self.qbo_emulator.state.settings.client_secret
        else:
            client_id = self.settings.qbo_client_id or "set-me"
            client_secret = self.settings.qbo_client_secret or "set-me"
        return json.dumps(
            {"client_id": client_id, "client_secret": client_secret, "redirect_uri": self.qbo_redirect_uri}
        )

    def _start_functions(self, resources: LocalStack) -> None:
        template = resources.template
        sqs_concurrency = {
            mapping.function_logical_id: mapping.max_concurrency
            for mapping in event_source_mappings(template, resources.resolver.resolve, self._queue_urls())
        }
        for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
            spec = function_spec(template, logical_id)
            memory = memory_size(template, logical_id)
            env = lambda_environment(
                spec,
                resources.function_environment(logical_id),
                aws_endpoint_url=self.moto.url,
                memory_mb=memory,
            )
            self.pools[logical_id] = FunctionPool(
                spec,
                env,
                max_concurrency=sqs_concurrency.get(logical_id, self.settings.api_max_concurrency),
                log_path=self.settings.log_dir / f"{logical_id}.log",
                memory_mb=memory,
            )
        self._started.callback(self._stop_functions)
        # Init every function now, in parallel, so "ready" means the first request is not a cold start.
        with ThreadPoolExecutor(max_workers=len(self.pools)) as executor:
            warmed = dict(
                zip(self.pools, executor.map(lambda pool: pool.warm(), self.pools.values()), strict=True)
            )
        failed = [logical_id for logical_id, ok in warmed.items() if not ok]
        if failed:
            logs = ", ".join(str(self.pools[logical_id].log_path) for logical_id in failed)
            self._out(f"  WARNING: {', '.join(failed)} failed to initialise (see {logs})")

    def _stop_functions(self) -> None:
        for pool in self.pools.values():
            pool.stop()

    def _queue_urls(self) -> dict[str, str]:
        assert self.resources is not None
        template = self.resources.template
        return {
            logical_id: self.resources.resolver.refs[logical_id]
            for logical_id in resources_of_type(template, "AWS::SQS::Queue")
        }

    def _start_pollers(self, resources: LocalStack) -> None:
        sqs = self.sqs_client()
        self._started.callback(self._stop_pollers)
        for mapping in event_source_mappings(
            resources.template, resources.resolver.resolve, self._queue_urls()
        ):
            # The queue keeps the template's 540 s visibility timeout, as in AWS: the sync function hands a
            # failed change back with its own short wait. Only a failed invocation (a crash, a timeout) is
            # retried sooner than in AWS, after VISIBILITY_TIMEOUT_SECONDS, so you can watch it happen.
            pool = self.pools[mapping.function_logical_id]
            poller = SqsPoller(
                mapping,
                pool.invoke,
                sqs=sqs,
                failed_invocation_retry_seconds=self.settings.visibility_timeout_seconds,
            ).start()
            self.pollers.append(poller)

    def _stop_pollers(self) -> None:
        # No new batches; stopping the functions fails the running ones at once (their messages stay in the
        # queue), so the poller threads end within a receive wait instead of a handler's run.
        for poller in self.pollers:
            poller.signal_stop()
        self._stop_functions()
        for poller in self.pollers:
            poller.stop()
        self.pollers = []

    # --- use -------------------------------------------------------------------------------------------

    def invoke(self, logical_id: str, event: dict[str, Any]) -> InvocationResult:
        return self.pools[logical_id].invoke(event)

    def pause_pollers(self) -> None:
        """Disable the SQS event sources (changes pile up in the queue) until `resume_pollers`."""
        for poller in self.pollers:
            poller.pause()

    def wait_until_idle(self, timeout_seconds: float = 30.0) -> None:
        """After `pause_pollers`: until no poller is receiving or running a batch."""
        deadline = time.monotonic() + timeout_seconds
        while any(not poller.quiet() for poller in self.pollers) and time.monotonic() < deadline:
            time.sleep(0.1)

    def resume_pollers(self) -> None:
        for poller in self.pollers:
            poller.resume()

    def sqs_client(self) -> SQSClient:
        # Few, quick retries: moto is local, and a stopping stack must not sit in botocore's backoff.
        config = Config(connect_timeout=2, read_timeout=30, retries={"mode": "standard", "max_attempts": 2})
        return boto3.session.Session().client(
            "sqs", endpoint_url=self.moto.url, region_name="us-east-1", config=config
        )

    @property
    def user_pool(self) -> UserPool:
        """The console's user pool (ConsoleUserPool and its app client), in moto."""
        assert self.resources is not None
        refs = self.resources.resolver.refs
        return UserPool(refs["ConsoleUserPool"], refs["ConsoleUserPoolClient"], self.moto.url)

    @property
    def gateway_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    @property
    def qbo_webhook_url(self) -> str:
        return self.gateway_url + "/webhooks/qbo"

    def queue_url(self, logical_id: str) -> str:
        return self._queue_urls()[logical_id]

    def queue_depth(self, logical_id: str) -> int:
        """Messages in the queue, visible or in flight."""
        attributes = self.sqs_client().get_queue_attributes(
            QueueUrl=self.queue_url(logical_id),
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def wait_until_drained(self, timeout_seconds: float = 60.0, poll_seconds: float = 0.1) -> bool:
        """True once every polled queue is empty and no batch is running (seen twice in a row)."""
        deadline = time.monotonic() + timeout_seconds
        consecutive = 0
        while time.monotonic() < deadline:
            busy = any(not poller.idle() for poller in self.pollers) or any(
                self._queue_depth_by_url(poller.mapping.queue_url) for poller in self.pollers
            )
            consecutive = 0 if busy else consecutive + 1
            if consecutive >= 2:
                return True
            time.sleep(poll_seconds)
        return False

    def _queue_depth_by_url(self, queue_url: str) -> int:
        logical_id = next(logical for logical, url in self._queue_urls().items() if url == queue_url)
        return self.queue_depth(logical_id)

    def info(self) -> dict[str, Any]:
        """Every URL and the admin token, as `STACK_INFO_FILE` holds them."""
        assert self.service_urls is not None
        return {
            "gateway_url": self.gateway_url,
            "webhook_url": self.gateway_url + "/webhooks/paysimple",
            "qbo_webhook_url": self.qbo_webhook_url,
            "qbo_webhook_verifier_token": self.qbo_webhook_verifier_token,
            "schedules_url": self.gateway_url + CONTROL_PREFIX,
            "oauth_callback_url": self.gateway_url + _OAUTH_CALLBACK_PATH,
            "admin_url": self.gateway_url + "/admin",
            "admin_token": self.admin_token,
            "console_url": self.gateway_url + "/",
            "user_pool_id": self.user_pool.pool_id,
            "user_pool_client_id": self.user_pool.client_id,
            "aws_endpoint_url": self.moto.url,
            "qbo_emulator_url": self.qbo_emulator.base_url if self.qbo_emulator else None,
            "paysimple_emulator_url": self.paysimple_emulator.base_url if self.paysimple_emulator else None,
            "qbo_api_base_url": self.service_urls.qbo_api_base_url,
            "qbo_token_url": self.service_urls.qbo_token_url,
            "qbo_authorize_url": self.service_urls.qbo_authorize_url,
            "paysimple_api_base_url": self.service_urls.paysimple_api_base_url,
            "queues": self._queue_urls(),
            "log_dir": str(self.settings.log_dir),
        }

    # --- stop ------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything started so far, newest first (ExitStack runs every step even if one fails);
        safe to call twice."""
        try:
            self._started.close()
        except Exception as error:
            self._out(f"  (while stopping: {type(error).__name__}: {error})")

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
