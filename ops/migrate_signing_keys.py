"""Give every merchant onboarded before the ingest function had its own signing-key secret that secret.

Until this release each merchant had one PaySimple secret, `{prefix}merchants/<m>/paysimple`, holding the
API username, the API key and the webhook signing key, and the internet-facing ingest function could read it
whole. Now onboarding (`PUT /admin/merchants/{id}`) also writes `{prefix}merchants/<m>/webhook-signing-key`,
and the ingest function may read those secrets alone. A merchant without one is an unknown merchant to the
ingest function: its webhooks get 401 (PaySimple retries each hourly for 72 hours, so none is lost if this
runs within that time).

For each PaySimple secret under the prefix, this copies the signing key into the merchant's signing-key
secret when that secret does not exist yet. It never changes an existing one: one that holds another key is
reported (someone rotated one copy by hand; onboard the merchant again to write both). Running it again does
nothing more. `--check` only reports. It exits 1 while any merchant is left unmigrated or in conflict.

    make migrate-signing-keys MIGRATE_ARGS="--secret-prefix customer-sync/ --check"
    make migrate-signing-keys MIGRATE_ARGS="--secret-prefix customer-sync/"

It needs `secretsmanager:ListSecrets`, and `GetSecretValue` and `CreateSecret` on `{prefix}merchants/*`. No
secret value is ever printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import boto3
from botocore.exceptions import ClientError
from pydantic import ValidationError

from customer_sync.config.shared import SecretNames
from customer_sync.models.merchant_secrets import PaySimpleCredentials, WebhookSigningKey

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

Outcome = Literal["created", "to_create", "up_to_date", "conflict", "unreadable"]
# What leaves a merchant unable to send webhooks, so the run fails until an operator acts.
NEEDS_ACTION: frozenset[Outcome] = frozenset({"to_create", "conflict", "unreadable"})


@dataclass
class MigrationReport:
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not any(outcome in NEEDS_ACTION for outcome in self.outcomes.values())

    def lines(self) -> list[str]:
        return [
            f"merchant {merchant_id}: {outcome}" for merchant_id, outcome in sorted(self.outcomes.items())
        ]


def merchants_with_paysimple_secrets(client: SecretsManagerClient, names: SecretNames) -> Iterator[str]:
    """Merchant ids of every PaySimple secret under the prefix (secrets awaiting deletion excluded)."""
    prefix = f"{names.secret_prefix}merchants/"
    for page in client.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
        for entry in page["SecretList"]:
            merchant_id, _, kind = entry["Name"].removeprefix(prefix).partition("/")
            if entry["Name"].startswith(prefix) and kind == "paysimple" and merchant_id:
                yield merchant_id


def migrate_merchant(
    client: SecretsManagerClient, names: SecretNames, merchant_id: str, *, check_only: bool
) -> Outcome:
    try:
        credentials = PaySimpleCredentials.model_validate_json(
            client.get_secret_value(SecretId=names.paysimple(merchant_id))["SecretString"]
        )
    except (KeyError, ValidationError):
        return "unreadable"  # no signing key to copy: onboard the merchant again
    wanted = WebhookSigningKey(webhook_signing_key=credentials.webhook_signing_key)
    stored = _stored_value(client, names.webhook_signing_key(merchant_id))
    if stored is not None:
        return "up_to_date" if _holds(stored, wanted) else "conflict"
    if check_only:
        return "to_create"
    client.create_secret(
        Name=names.webhook_signing_key(merchant_id),
        Description="The merchant's PaySimple webhook signing key, the one secret the ingest function reads.",
        SecretString=json.dumps(wanted.model_dump()),
    )
    return "created"


def _stored_value(client: SecretsManagerClient, name: str) -> str | None:
    try:
        return client.get_secret_value(SecretId=name)["SecretString"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def _holds(stored: str, wanted: WebhookSigningKey) -> bool:
    try:
        return WebhookSigningKey.model_validate_json(stored) == wanted
    except ValidationError:
        return False  # a malformed secret is a conflict too: it is never overwritten here


def migrate(client: SecretsManagerClient, names: SecretNames, *, check_only: bool = False) -> MigrationReport:
    report = MigrationReport()
    for merchant_id in merchants_with_paysimple_secrets(client, names):
        report.outcomes[merchant_id] = migrate_merchant(client, names, merchant_id, check_only=check_only)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--secret-prefix", required=True, help="the stack's SecretPrefix, e.g. customer-sync/"
    )
    parser.add_argument("--check", action="store_true", help="report only; create nothing")
    arguments = parser.parse_args(argv)
    names = SecretNames(secret_prefix=arguments.secret_prefix)
    report = migrate(boto3.client("secretsmanager"), names, check_only=arguments.check)
    for line in report.lines() or ["no merchant has a PaySimple secret under this prefix"]:
        print(line)
    print("complete" if report.complete else "INCOMPLETE: see the merchants above")
    return 0 if report.complete else 1


if __name__ == "__main__":
    sys.exit(main())
