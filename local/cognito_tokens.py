"""The local stand-in for API Gateway's Cognito user-pool authorizer: an ID token is accepted only if its
signature checks out against the pool's JWKS (moto's cognito-idp signs real RS256 JWTs and serves their
keys), its issuer is the pool, its audience is the console's app client, it has not expired, and it is an
ID token (`token_use` "id"). Its claims then go to the function as `requestContext.authorizer.claims`, with
string values, as the REST API authorizer passes them.

PyJWT does the JOSE work (key lookup by `kid`, RS256, `exp`/`iss`/`aud`): hand-written signature checks are
where token bugs live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from local.cfn import LOCAL_REGION


@dataclass(frozen=True)
class UserPool:
    """Where the console signs in: the pool, its public app client and the endpoint that serves both."""

    pool_id: str
    client_id: str
    endpoint_url: str  # moto locally; https://cognito-idp.<region>.amazonaws.com/ in AWS

    @property
    def issuer(self) -> str:
        # The issuer moto writes (as AWS does), whatever endpoint served the token.
        return f"https://cognito-idp.{LOCAL_REGION}.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint_url.rstrip('/')}/{self.pool_id}/.well-known/jwks.json"


def _as_authorizer_claim(value: Any) -> str:
    # API Gateway's REST authorizer passes every claim as a string; a list (cognito:groups) as "[a b]".
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    return str(value)


class CognitoIdTokens:
    def __init__(self, pool: UserPool) -> None:
        self.pool = pool
        self._keys = jwt.PyJWKClient(pool.jwks_url, cache_keys=True, timeout=5)

    def claims(self, token: str) -> dict[str, str] | None:
        """The verified ID token's claims, or None if it is not one this pool issued to the console."""
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.pool.client_id,
                issuer=self.pool.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.PyJWTError:
            return None
        if claims.get("token_use") != "id":
            return None
        return {name: _as_authorizer_claim(value) for name, value in claims.items()}
