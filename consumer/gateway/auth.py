"""Device tokens: signed JWTs whose ``sub`` is the user_id the device may publish as.

The gateway trusts nothing a frame says about who sent it: the user comes from the token, and
the token from ``Authorization: Bearer ...`` or, for browsers (which cannot set headers on a
WebSocket), the ``access_token`` query parameter. Tokens and keys are never logged: refusals
carry a reason and a detail written here, never the token text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt

from consumer.errors import ConfigError
from consumer.frames import ID_RE
from consumer.gateway.errors import TokenRefused
from consumer.settings import GatewaySettings

# Set by the scrubbing middleware (app.py), which takes the token out of the query string
# before any server log line can print it.
QUERY_TOKEN_SCOPE_KEY = "barunrun.access_token"
_TTL_RE = re.compile(r"(\d+)\s*([smhd]?)")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_REQUIRED_CLAIMS = ["exp", "sub"]


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str
    expires_at: float  # Unix seconds


class TokenVerifier:
    """Checks signature, expiry (with leeway), audience and issuer, and the subject's form."""

    def __init__(
        self, algorithm: str, key: str, audience: str = "", issuer: str = "",
        leeway_s: float = 30.0,
    ) -> None:
        self._algorithm = algorithm
        self._key = key
        self._audience = audience or None
        self._issuer = issuer or None
        self._leeway_s = leeway_s

    @classmethod
    def from_settings(cls, gateway: GatewaySettings) -> TokenVerifier:
        if gateway.jwt_algorithm == "RS256":
            if not jwt.algorithms.has_crypto:
                raise ConfigError("jwt_algorithm RS256 needs the `cryptography` package")
            if not gateway.jwt_public_key_file:
                raise ConfigError("jwt_algorithm RS256 needs gateway.jwt_public_key_file")
            try:
                key = Path(gateway.jwt_public_key_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read jwt_public_key_file {gateway.jwt_public_key_file!r}: "
                    f"{exc.strerror}"
                ) from exc
        else:
            key = signing_secret(gateway)
        return cls(
            gateway.jwt_algorithm, key, gateway.jwt_audience, gateway.jwt_issuer,
            gateway.jwt_leeway_s,
        )

    def verify(self, token: str | None) -> Identity:
        if not token:
            raise TokenRefused("missing_token", "no bearer token (Authorization or access_token)")
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[self._algorithm], audience=self._audience,
                issuer=self._issuer, leeway=self._leeway_s,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("expired_token", "the token has expired") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("bad_signature", "the token's signature does not verify") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused("wrong_audience", "the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("wrong_issuer", "the token is from another issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRefused("missing_claim", f"the token lacks '{exc.claim}'") from None
        except jwt.InvalidAlgorithmError:
            raise TokenRefused("bad_algorithm", f"tokens must be {self._algorithm}") from None
        except jwt.InvalidTokenError:
            raise TokenRefused("malformed_token", "the token is not a valid JWT") from None
        subject = claims.get("sub")
        if type(subject) is not str or not ID_RE.fullmatch(subject):
            raise TokenRefused("bad_subject", "the token's sub is not a valid user_id")
        expires = claims["exp"]
        if type(expires) not in (int, float):  # pyjwt accepts numeric strings? never trust
            raise TokenRefused("malformed_token", "the token's exp is not a number")
        return Identity(subject, float(expires))


def signing_secret(gateway: GatewaySettings) -> str:
    if gateway.jwt_secret is None:
        raise ConfigError(
            "no gateway token secret: set BARUNRUN_GATEWAY_JWT_SECRET or gateway.jwt_secret_file"
        )
    return gateway.jwt_secret.get_secret_value()


def issue_token(
    gateway: GatewaySettings, user_id: str, ttl_s: float, now: float | None = None
) -> str:
    """An HS256 token for ``user_id`` (development and tests; production tokens come from
    the identity service that owns the accounts)."""
    if gateway.jwt_algorithm != "HS256":
        raise ConfigError("token issue signs HS256 tokens only (jwt_algorithm is RS256)")
    if not ID_RE.fullmatch(user_id):
        raise ConfigError(f"user id {user_id!r} must be 1-64 of A-Z a-z 0-9 _ . - (alnum first)")
    issued = time.time() if now is None else now
    claims: dict[str, object] = {
        "sub": user_id, "iat": int(issued), "exp": int(issued + ttl_s),
    }
    if gateway.jwt_audience:
        claims["aud"] = gateway.jwt_audience
    if gateway.jwt_issuer:
        claims["iss"] = gateway.jwt_issuer
    return jwt.encode(claims, signing_secret(gateway), algorithm="HS256")


def parse_ttl(text: str) -> int:
    """``90``, ``90s``, ``15m``, ``1h``, ``7d`` -> seconds."""
    match = _TTL_RE.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"ttl {text!r} must be a positive number with s, m, h or d")
    return int(match.group(1)) * _TTL_UNITS[match.group(2)]


def bearer_token(headers: Mapping[str, str], scope: Mapping[str, object]) -> str | None:
    """The token from the Authorization header, else from the (scrubbed) query parameter."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
        return None
    token = scope.get(QUERY_TOKEN_SCOPE_KEY)
    return token if isinstance(token, str) and token else None
