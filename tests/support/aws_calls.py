"""Counting the AWS API calls code makes, by service and operation (through botocore, so every client counts,
whichever endpoint it talks to: moto in-process or a moto server)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from botocore.client import BaseClient


class AwsCalls(Counter[str]):
    """ "service.Operation" → calls, e.g. {"dynamodb.TransactWriteItems": 1}."""

    def of(self, service: str) -> int:
        return sum(count for name, count in self.items() if name.startswith(f"{service}."))

    def operations(self, service: str) -> dict[str, int]:
        return {
            name.split(".", 1)[1]: count
            for name, count in sorted(self.items())
            if name.startswith(f"{service}.")
        }


@contextmanager
def counting_aws_calls() -> Iterator[AwsCalls]:
    counts = AwsCalls()
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def counted(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        counts[f"{client.meta.service_model.service_name}.{operation_name}"] += 1
        return original(client, operation_name, api_params)

    with mock.patch.object(BaseClient, "_make_api_call", counted):
        yield counts
