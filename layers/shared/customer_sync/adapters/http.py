"""HTTP for the adapters that call QBO, Intuit's OAuth endpoints and PaySimple.

- One `HttpSession` (a urllib3 pool manager: connections kept alive) per client family, kept while the Lambda
  is warm.
- No retries and no redirects. A failed call goes back to its caller, whose retry policy or the queue's
  redelivery decides. A redirect would take the Authorization header elsewhere.
- Failures are two exception types whose text never holds the request: URLs carry customer names (QBO
  queries), headers carry tokens and keys.

urllib3 rather than requests: botocore loads urllib3 anyway, and importing requests cost the cold start of
every function that calls QBO or PaySimple 20 to 45 ms (issue 11).
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.exceptions import (
    HTTPError,
    LocationValueError,
    NewConnectionError,
    TimeoutError as Urllib3Timeout,
)

# Our own User-Agent (requests sent "python-requests/<version>"); gzip, as requests asked for it, keeps
# QBO's query answers small.
_DEFAULT_HEADERS = {"User-Agent": "customer-sync", "Accept-Encoding": "gzip, deflate"}


class HttpUnreachable(Exception):
    """No answer: the connection failed, broke, or the answer did not come within the timeout."""

    def __init__(self, kind: str, *, timed_out: bool) -> None:
        super().__init__(f"{'timed out' if timed_out else 'connection failed'} ({kind})")
        self.kind = kind
        self.timed_out = timed_out


class HttpUnsendable(Exception):
    """The request cannot be sent as it is: a header value with a newline or a character outside Latin-1 (a
    key pasted with a line break), or a URL that is not one. Sending it again cannot help."""

    def __init__(self, kind: str, *, bad_header: bool) -> None:
        super().__init__(f"request could not be sent ({kind})")
        self.kind = kind
        self.bad_header = bad_header


def basic_authorization(user: str, password: str) -> dict[str, str]:
    """The standard HTTP Basic header (Base64 of `user:password` in Latin-1, as requests sent it)."""
    try:
        credentials = f"{user}:{password}".encode("latin-1")
    except UnicodeEncodeError:
        raise HttpUnsendable("UnicodeEncodeError", bad_header=True) from None
    return {"Authorization": f"Basic {base64.b64encode(credentials).decode('ascii')}"}


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # any case: urllib3's HTTPHeaderDict
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class HttpSession:
    def __init__(self) -> None:
        self._pool = urllib3.PoolManager(retries=False)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None = None,
        timeout_seconds: float,
    ) -> HttpResponse:
        """The answer, whatever its status. Raises HttpUnreachable or HttpUnsendable, never with the request's
        URL or headers in the text (nor in a chained exception)."""
        try:
            response = self._pool.request(
                method,
                url,
                headers={**_DEFAULT_HEADERS, **headers},
                body=body,
                # Connect and each read, as requests' timeout did.
                timeout=urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds),
                retries=False,
                redirect=False,
            )
        except NewConnectionError as error:  # before the timeouts: urllib3 makes it a ConnectTimeoutError
            raise HttpUnreachable(type(error).__name__, timed_out=False) from None
        except Urllib3Timeout as error:
            raise HttpUnreachable(type(error).__name__, timed_out=True) from None
        except LocationValueError as error:  # before HTTPError and ValueError: it is both
            raise HttpUnsendable(type(error).__name__, bad_header=False) from None
        except (HTTPError, http.client.HTTPException, OSError) as error:
            raise HttpUnreachable(type(error).__name__, timed_out=False) from None
        except ValueError as error:  # http.client refuses the header value; its text quotes it
            raise HttpUnsendable(type(error).__name__, bad_header=True) from None
        return HttpResponse(status=response.status, headers=response.headers, body=response.data)
