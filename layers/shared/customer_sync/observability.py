"""The one Logger, Metrics and Tracer of the application. Service name and namespace come from
POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE set in template.yaml.

The tracer is built only where tracing is on. Building Powertools' Tracer imports and patches aws_xray_sdk,
about 150 ms of every cold start even when tracing is off; `tracer.capture_lambda_handler` decides when the
handler module is imported (Lambda's init, when the environment is fixed) and leaves the handler as it is
when tracing is off: outside Lambda, under `sam local` (AWS_SAM_LOCAL) or with POWERTOOLS_TRACE_DISABLED,
the same rule Powertools' own Tracer applies.

Every log line passes through `RedactingFormatter`: whatever a line carries (message, extra keys, appended
keys, exception text), a card or bank number in it is replaced before it is written. Code never logs field
values on purpose; this is the net for the line that does so by mistake.

Libraries log through the root logger, past that net. At DEBUG botocore writes every request and response
whole (Secrets Manager's SecretString with tokens and keys, DynamoDB items with customer names) and urllib3
every URL (QBO queries with customer names). So they are pinned at INFO: turning a function's log level up
(Lambda's ApplicationLogLevel, or the root logger) never makes them write those.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import LogRecord
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from customer_sync.domain.scrub import REDACTION_MARKER, redact_for_log

# Numbers shorter than any account number we detect cannot need redaction; skip the work for them.
_SHORTEST_REDACTED_NUMBER = 6
# A PaySimple event id as PaySimple makes them (reference/paysimple-api.md: `evt_` and 24 hex digits), as
# our deduplication ids extend them. Its digits are random, never typed by anyone, yet about 1 in 400 holds a
# run that passes as a card or routing number: masked, that change's log lines could not be found by its
# correlation id. Only a whole value of exactly this shape is kept; anything else still goes to the scrub.
_PAYSIMPLE_EVENT_ID = re.compile(r"evt_[0-9a-f]{24}(?:#redrive-[0-9]{1,6})?")


def redact_log_value(value: Any) -> Any:
    """`value` with card and bank numbers replaced, at any depth; objects become their text first, as the
    JSON serialiser would make them."""
    if isinstance(value, str):
        return value if _PAYSIMPLE_EVENT_ID.fullmatch(value) else redact_for_log(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        text = str(value)
        if len(text) < _SHORTEST_REDACTED_NUMBER:
            return value
        return value if redact_for_log(text) == text else REDACTION_MARKER
    if isinstance(value, Mapping):
        return {key: redact_log_value(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_log_value(inner) for inner in value]
    return redact_for_log(str(value))


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, redacting every value just before serialisation."""

    def serialize(self, log: LogRecord) -> str:
        redacted: LogRecord = redact_log_value(log)
        return super().serialize(redacted)


# Loggers whose DEBUG lines carry whole requests, responses or URLs.
PAYLOAD_DUMPING_LIBRARIES = ("botocore", "boto3", "urllib3", "s3transfer")
for _library in PAYLOAD_DUMPING_LIBRARIES:
    logging.getLogger(_library).setLevel(logging.INFO)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether X-Ray tracing is on for this process (Powertools' Tracer's own rule)."""
    if resolve_truthy_env_var_choice(env=environ.get("POWERTOOLS_TRACE_DISABLED", "false")):
        return False
    in_lambda = bool(environ.get("LAMBDA_TASK_ROOT"))
    emulated = bool(environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE"))
    return in_lambda and not emulated


class LazyTracer:
    """Powertools' Tracer where tracing is on; nothing at all where it is off."""

    def capture_lambda_handler(self, *, capture_response: bool = True) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            if not tracing_enabled():
                return handler
            from aws_lambda_powertools import Tracer  # imported here on purpose: only when tracing is on

            return cast(Handler, Tracer().capture_lambda_handler(handler, capture_response=capture_response))

        return decorate


logger = Logger(logger_formatter=RedactingFormatter())
metrics = Metrics()
tracer = LazyTracer()
