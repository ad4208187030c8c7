"""Intuit's revoke endpoint (`POST https://developer.api.intuit.com/v2/oauth2/tokens/revoke`): Disconnect.

JSON `{"token": <refresh or access token>}` with the app's Basic credentials; revoking the refresh token
ends the whole connection. A token Intuit no longer knows is no failure (there is nothing left to revoke):
400 `invalid_token`/`invalid_grant` counts as done, as 200 does. The token is never logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from customer_sync.adapters.http import HttpSession, HttpUnreachable, HttpUnsendable, basic_authorization
from customer_sync.errors import QboAuthorizationFailed, QboError, QboTransientError
from customer_sync.models.qbo import QboAppCredentials
from customer_sync.observability import logger

_ALREADY_GONE = frozenset({"invalid_token", "invalid_grant"})


class IntuitTokenRevocation:
    """Implements ports.TokenRevoker; the app's credentials are read when they are needed."""

    def __init__(
        self,
        revoke_url: str,
        app_credentials: Callable[[], QboAppCredentials],
        *,
        timeout_seconds: float = 10.0,
        session: HttpSession | None = None,
    ) -> None:
        self._revoke_url = revoke_url
        self._app_credentials = app_credentials
        self._timeout_seconds = timeout_seconds
        self._session = session or HttpSession()

    def revoke(self, token: str) -> None:
        app = self._app_credentials()
        try:
            response = self._session.request(
                "POST",
                self._revoke_url,
                headers={
                    **basic_authorization(app.client_id, app.client_secret.get_secret_value()),
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                },
                body=json.dumps({"token": token}).encode(),
                timeout_seconds=self._timeout_seconds,
            )
        except (HttpUnreachable, HttpUnsendable) as error:
            raise QboTransientError(f"revoke endpoint unreachable ({error.kind})") from None
        if response.status == 200:
            return
        try:
            body = response.json()
            oauth_error = str(body.get("error")) if isinstance(body, dict) else None
        except ValueError:
            oauth_error = None
        logger.warning("QBO revoke refused", extra={"status": response.status, "oauth_error": oauth_error})
        if response.status == 400 and oauth_error in _ALREADY_GONE:
            return
        message = f"revoke endpoint answered HTTP {response.status} {oauth_error or ''}".strip()
        if response.status == 401:
            raise QboAuthorizationFailed(message, code=oauth_error, status=401)
        if response.status == 429 or response.status >= 500:
            raise QboTransientError(message, code=oauth_error, status=response.status)
        raise QboError(message, code=oauth_error, status=response.status)
