"""The Lambda context the tests hand a handler: what Powertools reads from it, named after the function."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass
class LambdaContextStub:
    """A context whose remaining time stands still at `remaining_millis` (e.g. 1 for an invocation about to
    time out)."""

    function_name: str = "SyncFunction"
    remaining_millis: int = 60_000
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_stream_name: str = "2026/11/25/[$LATEST]0123456789abcdef"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@dataclass
class RunningLambdaContextStub(LambdaContextStub):
    """A context whose remaining time runs down with the clock, from `remaining_millis` at its creation."""

    created_at: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed_millis = int((time.monotonic() - self.created_at) * 1000)
        return max(0, self.remaining_millis - elapsed_millis)
