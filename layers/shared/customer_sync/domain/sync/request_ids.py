"""Deterministic QBO `requestid`s for creates.

QBO answers a repeated requestid with the original result and does not repeat the operation, so the id of
a create must depend only on what identifies *this* attempt to create *this* customer — never on the
delivery attempt or the time:

- the merchant and the PaySimple customer id;
- the generation: the version of the "creating" intent record stored in our links table before the first
  call. A redelivery finds the same intent and so the same id; a later, legitimately new create (after an
  admin unlink, a rejected create, or a QBO customer merged away) writes a new intent and gets a new id;
- the variant: the first create and the one retry with the collision suffix are different requests (QBO
  also replays failures, so the retry after a 6240 needs an id of its own).
"""

from __future__ import annotations

import hashlib
from typing import Final, Literal

CreateVariant = Literal["display_name", "collision_suffix"]
REQUEST_ID_PREFIX: Final = "cs"
MAX_REQUEST_ID_LENGTH: Final = 50
_DIGEST_CHARACTERS: Final = 40


def create_request_id(
    merchant_id: str, paysimple_customer_id: str, generation: int, variant: CreateVariant
) -> str:
    """e.g. "cs-d-3f2a…" (45 characters). Ids are hashed so nothing about the customer is sent in the URL."""
    if generation < 1:
        raise ValueError("the generation is the stored intent's version, 1 or more")
    # A separator that cannot occur in the ids keeps ("1", "23") and ("12", "3") apart.
    material = "\x1f".join((merchant_id, paysimple_customer_id, str(generation), variant))
    digest = hashlib.sha256(material.encode()).hexdigest()[:_DIGEST_CHARACTERS]
    request_id = f"{REQUEST_ID_PREFIX}-{variant[0]}-{digest}"
    assert len(request_id) <= MAX_REQUEST_ID_LENGTH
    return request_id
