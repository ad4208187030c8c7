"""One PaySimple customer webhook as a document, for tests that vary a field of it."""

from __future__ import annotations

from typing import Any

from events.generate import JOHN_DOE, webhook_envelope


def webhook_document(**overrides: Any) -> dict[str, Any]:
    """Merchant 1225's `customer_updated` of John Doe; `overrides` replace (or add) top-level fields."""
    document = webhook_envelope(
        "customer_updated",
        "evt_5b2aca473b6325b3b4d22ed1",
        JOHN_DOE,
        created_at="2018-06-20T21:42:31.5412011Z",
    )
    return {**document, **overrides}
