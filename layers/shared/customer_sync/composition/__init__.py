"""The composition root: the one place where each function's objects are built from its settings.

Every function is built the same way: a cached builder per function (`ingest_components()`,
`sync_components()`, `admin_components()`), each over the shared `build_repositories()` and
`build_merchant_clients()`. Objects are built on first use, never at import (moto intercepts only clients
created after it starts), and kept while the Lambda is warm, so boto3 clients, secret caches and the
type-ahead cache serve every warm invocation.

`reset()` is the seam for tests: after changing the environment (or starting moto) they call it, and the
next call builds everything afresh from the settings read anew.
"""

from customer_sync.composition.cache import reset

__all__ = ["reset"]
