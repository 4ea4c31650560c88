"""Device tokens: what verifies, what is refused and why, and where the token is read from."""

from __future__ import annotations

import time

import jwt
import pytest

from consumer.errors import ConfigError
from consumer.gateway.auth import (
    QUERY_TOKEN_SCOPE_KEY,
    TokenVerifier,
    bearer_token,
    issue_token,
    parse_ttl,
)
from consumer.gateway.errors import TokenRefused
from consumer.settings import load_settings

SECRET = "a-test-secret-of-at-least-32-bytes-long"


def gateway(**overrides):
    return load_settings(environ={}).with_overrides(
        gateway={"jwt_secret": SECRET, **overrides}
    ).gateway


def refusal(verifier: TokenVerifier, token: str | None) -> str:
    with pytest.raises(TokenRefused) as caught:
        verifier.verify(token)
    return caught.value.reason


def test_a_token_issued_for_a_user_verifies_as_that_user() -> None:
    g = gateway()
    identity = TokenVerifier.from_settings(g).verify(issue_token(g, "runner-42", 3600))
    assert identity.user_id == "runner-42"
    assert identity.expires_at == pytest.approx(time.time() + 3600, abs=5)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda g: None, "missing_token"),
        (lambda g: "", "missing_token"),
        (lambda g: "not.a.jwt", "malformed_token"),
        (lambda g: issue_token(g, "runner-1", 60, now=time.time() - 3600), "expired_token"),
        (lambda g: jwt.encode({"sub": "runner-1", "exp": time.time() + 60},
                              "another-secret-of-at-least-32-bytes!!", algorithm="HS256"),
         "bad_signature"),
        (lambda g: jwt.encode({"sub": "runner-1"}, SECRET, algorithm="HS256"), "missing_claim"),
        (lambda g: jwt.encode({"exp": time.time() + 60}, SECRET, algorithm="HS256"),
         "missing_claim"),
        (lambda g: jwt.encode({"sub": "runner:1", "exp": time.time() + 60}, SECRET,
                              algorithm="HS256"), "bad_subject"),
        (lambda g: jwt.encode({"sub": "runner-1", "exp": time.time() + 60}, SECRET * 2,
                              algorithm="HS512"), "bad_algorithm"),
        # An unsigned token (alg none) must never pass.
        (lambda g: jwt.encode({"sub": "runner-1", "exp": time.time() + 60}, None,
                              algorithm="none"), "bad_algorithm"),
    ],
)
def test_refused_tokens_say_why(make, reason: str) -> None:
    g = gateway()
    assert refusal(TokenVerifier.from_settings(g), make(g)) == reason


def test_expiry_allows_the_configured_leeway_only() -> None:
    g = gateway(jwt_leeway_s=30)
    verifier = TokenVerifier.from_settings(g)
    just_expired = issue_token(g, "runner-1", 60, now=time.time() - 70)  # 10 s ago
    assert verifier.verify(just_expired).user_id == "runner-1"
    long_expired = issue_token(g, "runner-1", 60, now=time.time() - 120)  # 60 s ago
    assert refusal(verifier, long_expired) == "expired_token"


def test_audience_and_issuer_are_checked_when_configured() -> None:
    g = gateway(jwt_audience="barunrun", jwt_issuer="https://id.example")
    verifier = TokenVerifier.from_settings(g)
    assert verifier.verify(issue_token(g, "runner-1", 60)).user_id == "runner-1"
    other_aud = jwt.encode({"sub": "runner-1", "exp": time.time() + 60, "aud": "other",
                            "iss": "https://id.example"}, SECRET, algorithm="HS256")
    assert refusal(verifier, other_aud) == "wrong_audience"
    other_iss = jwt.encode({"sub": "runner-1", "exp": time.time() + 60, "aud": "barunrun",
                            "iss": "https://evil.example"}, SECRET, algorithm="HS256")
    assert refusal(verifier, other_iss) == "wrong_issuer"


def test_refusals_never_contain_the_token() -> None:
    g = gateway()
    verifier = TokenVerifier.from_settings(g)
    token = issue_token(g, "runner-1", 60, now=time.time() - 3600)
    with pytest.raises(TokenRefused) as caught:
        verifier.verify(token)
    assert token not in str(caught.value) and token.split(".")[1] not in caught.value.detail


def test_the_secret_is_required_long_and_never_shown() -> None:
    with pytest.raises(ConfigError, match="BARUNRUN_GATEWAY_JWT_SECRET"):
        TokenVerifier.from_settings(load_settings(environ={}).gateway)
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        load_settings(environ={"BARUNRUN_GATEWAY_JWT_SECRET": "short"})
    settings = load_settings(environ={"BARUNRUN_GATEWAY_JWT_SECRET": SECRET})
    assert SECRET not in repr(settings) and SECRET not in str(settings.redacted())


def test_the_secret_can_come_from_a_file(tmp_path) -> None:
    path = tmp_path / "jwt.key"
    path.write_text(SECRET + "\n")
    settings = load_settings(environ={"BARUNRUN_GATEWAY_JWT_SECRET_FILE": str(path)})
    token = issue_token(settings.gateway, "runner-1", 60)
    assert TokenVerifier.from_settings(settings.gateway).verify(token).user_id == "runner-1"


@pytest.mark.skipif(jwt.algorithms.has_crypto, reason="cryptography is installed")
def test_rs256_without_cryptography_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="cryptography"):
        TokenVerifier.from_settings(gateway(jwt_algorithm="RS256"))


def test_issue_refuses_users_outside_the_id_alphabet() -> None:
    with pytest.raises(ConfigError):
        issue_token(gateway(), "runner 1", 60)


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900),
                                                ("1h", 3600), ("7d", 604800)])
def test_ttl_forms(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-1h", "1w", "h", "1.5h"])
def test_bad_ttls_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_ttl(text)


def test_the_header_wins_over_the_query_parameter() -> None:
    scope = {QUERY_TOKEN_SCOPE_KEY: "from-query"}
    assert bearer_token({"authorization": "Bearer from-header"}, scope) == "from-header"
    assert bearer_token({"authorization": "bearer  spaced "}, {}) == "spaced"
    assert bearer_token({}, scope) == "from-query"
    assert bearer_token({"authorization": "Basic dXNlcjpwYXNz"}, scope) is None
    assert bearer_token({}, {}) is None
