"""The one way adapters make AWS clients: `aws_client(service_name)`, with explicit timeouts and retries.

botocore's defaults (60 s to connect, 60 s per read, legacy retries up to 5 attempts, 10 for DynamoDB) would
let one hung DynamoDB, SQS or Secrets Manager call run for minutes: far past a sync record's margin
(domain/sync/record_deadline.py, 45 s with the default settings) and PaySimple's 10 s webhook budget. So every
client gets a Config (attempts are counted with the first one included):

- `AWS_DEFAULT`: connect 2 s, read 5 s, 3 attempts with standard retries. A call that hangs on every
  attempt gives up after at most 3 x (2 + 5) s plus 3 s of backoff = 24 s, inside the record margin and
  inside the admin API's 29 s.
- `FAIL_FAST`: the ingest path. Connect 2 s, read 2 s, 2 attempts: at most 2 x (2 + 2) s plus 1 s = 9 s,
  inside PaySimple's 10 s. A failed call raises, the function errors and PaySimple retries the delivery.

Clients are made on first use by each adapter, never at import: moto only intercepts clients created after
it starts. They come from one boto3 Session per thread: a Session loads the service models once (a fresh
Session per client costs ~0.1 s) and Sessions are not thread-safe.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

AWS_DEFAULT = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})
FAIL_FAST = Config(connect_timeout=2, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})

_per_thread = threading.local()


def _session() -> boto3.session.Session:
    session: boto3.session.Session | None = getattr(_per_thread, "session", None)
    if session is None:
        session = boto3.session.Session()
        _per_thread.session = session
    return session


@overload
def aws_client(service_name: Literal["dynamodb"], *, config: Config = ...) -> DynamoDBClient: ...


@overload
def aws_client(service_name: Literal["sqs"], *, config: Config = ...) -> SQSClient: ...


@overload
def aws_client(service_name: Literal["secretsmanager"], *, config: Config = ...) -> SecretsManagerClient: ...


@overload
def aws_client(
    service_name: Literal["cognito-idp"], *, config: Config = ...
) -> CognitoIdentityProviderClient: ...


def aws_client(service_name: str, *, config: Config = AWS_DEFAULT) -> Any:
    """A new client for `service_name` (endpoint and region from the SDK's own settings, e.g.
    AWS_ENDPOINT_URL), with `config`'s timeouts and retries."""
    return _session().client(service_name, config=config)  # type: ignore[call-overload]
