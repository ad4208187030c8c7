"""The objects of DeadLetterFunction: the DLQ's changes recorded as failures (domain.dead_letters)."""

from __future__ import annotations

from dataclasses import dataclass

from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.clock import SystemClock
from customer_sync.composition.cache import built_once
from customer_sync.composition.shared import build_repositories
from customer_sync.config import load_settings
from customer_sync.config.dead_letters import DeadLetterSettings
from customer_sync.domain.dead_letters import DeadLetterIntake
from customer_sync.handlers.dead_letter_batch import DeadLetterBatch


@dataclass(frozen=True)
class DeadLetterComponents:
    settings: DeadLetterSettings
    batch: DeadLetterBatch


@built_once
def dead_letter_components() -> DeadLetterComponents:
    settings = load_settings(DeadLetterSettings)
    clock = SystemClock()
    repositories = build_repositories(settings, dynamodb=aws_client("dynamodb"), clock=clock)
    intake = DeadLetterIntake(failures=repositories.failures, history=repositories.history, clock=clock)
    return DeadLetterComponents(settings=settings, batch=DeadLetterBatch(intake))
