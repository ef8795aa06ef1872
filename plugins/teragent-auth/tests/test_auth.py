"""Credentials against a real loopback token endpoint and API: OAuth2 client
credentials fetched, cached, renewed on expiry (injected clock) and on 401, fetched
once under concurrency; every kind applied on the wire; secrets never in logs, errors
or reprs; ``[auth.NAME]`` validated strictly."""

from __future__ import annotations

import asyncio
import base64
import logging
import pickle
import textwrap

import httpx
import pytest

from teragent.errors import ConfigError, MissingCredentialsError
from teragent_auth import (
    ApiKeyCredential, AuthError, AuthManager, BasicCredential, BearerCredential,
    OAuth2ClientCredentials, Secret,
)

from teragent_auth.testing import CLIENT_ID, CLIENT_SECRET


def _oauth(server, clock, **kw) -> OAuth2ClientCredentials:
    kw.setdefault("client_id", CLIENT_ID)
    kw.setdefault("client_secret", CLIENT_SECRET)
    return OAuth2ClientCredentials(f"{server.url}/oauth/token", clock=clock, name="billing",
                                   **kw)


async def _whoami(server, mgr: AuthManager, name: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, auth=mgr.httpx_auth(name)) as client:
        return await client.get("/api/whoami")


def test_oauth2_token_fetched_cached_and_renewed_on_expiry(auth_server, clock):
    cred = _oauth(auth_server, clock, scopes=["invoices:read", "invoices:write"])
    mgr = AuthManager({"billing": cred})

    async def main() -> list[str]:
        seen = []
        for step in (0, 10, 10, 45):  # t = 0, 10, 20, 65 (token lives 60 s)
            clock.advance(step)
            r = await _whoami(auth_server, mgr, "billing")
            assert r.status_code == 200
            seen.append(r.json()["authorization"])
        return seen

    seen = asyncio.run(main())
    first, second = auth_server.issued
    # cached for the first three calls, renewed once expiry came near
    assert seen == [f"Bearer {first}"] * 3 + [f"Bearer {second}"]
    assert cred.fetches == 2 and len(auth_server.token_requests) == 2
    req = auth_server.token_requests[0]
    assert req["form"] == {"grant_type": "client_credentials",
                           "scope": "invoices:read invoices:write"}
    assert base64.b64decode(req["authorization"][6:]).decode() == \
        f"{CLIENT_ID}:{CLIENT_SECRET}"


def test_oauth2_renews_before_expiry_within_the_margin(auth_server, clock):
    cred = _oauth(auth_server, clock, refresh_margin=5)

    async def main() -> None:
        await cred.token()
        clock.advance(54.9)
        await cred.token()
        assert cred.fetches == 1
        clock.advance(0.2)  # 55.1 s: inside the 5 s margin of a 60 s token
        await cred.token()
        assert cred.fetches == 2

    asyncio.run(main())


def test_oauth2_client_secret_post(auth_server, clock):
    cred = _oauth(auth_server, clock, auth_method="client_secret_post")
    asyncio.run(cred.token())
    req = auth_server.token_requests[0]
    assert req["authorization"] == ""
    assert req["form"]["client_id"] == CLIENT_ID
    assert req["form"]["client_secret"] == CLIENT_SECRET


def test_oauth2_renews_once_on_401(auth_server, clock):
    cred = _oauth(auth_server, clock)
    mgr = AuthManager({"billing": cred})

    async def main() -> httpx.Response:
        assert (await _whoami(auth_server, mgr, "billing")).status_code == 200
        auth_server.revoked.add(auth_server.issued[0])  # the server forgets the token
        return await _whoami(auth_server, mgr, "billing")

    r = asyncio.run(main())
    assert r.status_code == 200
    assert r.json()["authorization"] == f"Bearer {auth_server.issued[1]}"
    assert cred.fetches == 2
    # the 401 was answered once, then the retried request went through
    assert [a["authorization"][7:] for a in auth_server.api_requests] == \
        [auth_server.issued[0], auth_server.issued[0], auth_server.issued[1]]


def test_oauth2_single_flight_under_concurrency(auth_server, clock):
    cred = _oauth(auth_server, clock)

    async def main() -> set[str]:
        tokens = await asyncio.gather(*(cred.token() for _ in range(25)))
        return {t.reveal() for t in tokens}

    assert asyncio.run(main()) == {auth_server.issued[0]}
    assert cred.fetches == 1 and len(auth_server.token_requests) == 1


def test_oauth2_concurrent_401s_cause_one_renewal(auth_server, clock):
    cred = _oauth(auth_server, clock)
    mgr = AuthManager({"billing": cred})

    async def main() -> list[int]:
        await cred.token()
        auth_server.revoked.add(auth_server.issued[0])
        async with httpx.AsyncClient(base_url=auth_server.url,
                                     auth=mgr.httpx_auth("billing")) as client:
            rs = await asyncio.gather(*(client.get("/api/whoami") for _ in range(8)))
        return [r.status_code for r in rs]

    assert asyncio.run(main()) == [200] * 8
    assert cred.fetches == 2


def test_secrets_never_in_logs_errors_or_reprs(auth_server, clock, caplog):
    """Everything at DEBUG (httpx logs each request URL at INFO), a token endpoint that
    echoes the wrong secret back in its error, and every repr/str."""
    caplog.set_level(logging.DEBUG)
    wrong = "cs-WRONG-77aa11bb22cc"
    bad = _oauth(auth_server, clock, client_secret=wrong)
    good = _oauth(auth_server, clock)
    qkey = "qk-3c4d5e6f7a8b9c0d"
    mgr = AuthManager({"bad": bad, "good": good,
                       "query": ApiKeyCredential(qkey, query="api_key")})

    async def main() -> str:
        with pytest.raises(AuthError) as info:
            await _whoami(auth_server, mgr, "bad")
        r = await _whoami(auth_server, mgr, "good")
        assert r.status_code == 200
        r = await _whoami(auth_server, mgr, "query")
        assert r.json()["query"] == {"api_key": qkey}  # it did go on the wire
        return str(info.value)

    message = asyncio.run(main())
    assert "HTTP 401 invalid_client: bad secret ***" in message
    assert "token URL" in message
    token = auth_server.issued[0]
    shown = [message, repr(mgr), str(mgr), repr(good), str(good), repr(bad),
             f"{Secret(CLIENT_SECRET)}", repr(Secret(CLIENT_SECRET)),
             caplog.text, *(r.getMessage() for r in caplog.records)]
    for text in shown:
        for secret in (wrong, CLIENT_SECRET, token, qkey):
            assert secret not in text, (secret, text)
    assert any("api_key=***" in r.getMessage() for r in caplog.records
               if r.name == "httpx"), "httpx's request log line was expected"


def test_token_endpoint_unreachable_is_a_clear_error(clock):
    cred = OAuth2ClientCredentials("http://127.0.0.1:9/oauth/token", CLIENT_ID,
                                   CLIENT_SECRET, clock=clock, timeout=2)
    with pytest.raises(AuthError, match="could not be reached") as info:
        asyncio.run(cred.token())
    assert CLIENT_SECRET not in str(info.value)


def test_each_kind_on_the_wire(auth_server, monkeypatch):
    monkeypatch.setenv("TEST_BEARER_TOKEN", "bt-1234567890abcdef")
    auth_server.accepted.add("bt-1234567890abcdef")
    monkeypatch.setenv("TEST_API_KEY", "ak-abcdef1234567890")
    monkeypatch.setenv("TEST_PASSWORD", "pw-s3cr3t-value")
    mgr = AuthManager({
        "bearer": BearerCredential(token_env="TEST_BEARER_TOKEN"),
        "header": ApiKeyCredential(key_env="TEST_API_KEY"),
        "basic": BasicCredential("alice", password_env="TEST_PASSWORD"),
    })

    async def main() -> list[dict]:
        return [(await _whoami(auth_server, mgr, n)).json()
                for n in ("bearer", "header", "basic")]

    bearer, header, basic = asyncio.run(main())
    assert bearer["authorization"] == "Bearer bt-1234567890abcdef"
    assert header["x-api-key"] == "ak-abcdef1234567890"
    assert basic["authorization"] == "Basic " + base64.b64encode(
        b"alice:pw-s3cr3t-value").decode()
    assert asyncio.run(mgr.headers("header")) == {"x-api-key": "ak-abcdef1234567890"}
    assert "pw-s3cr3t-value" not in repr(mgr)
    assert mgr.redact("oops pw-s3cr3t-value leaked") == "oops *** leaked"


def test_missing_variable_names_it(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NOPE_TOKEN_XYZ", raising=False)
    cred = BearerCredential(token_env="NOPE_TOKEN_XYZ")
    with pytest.raises(MissingCredentialsError, match="NOPE_TOKEN_XYZ"):
        asyncio.run(cred.headers())


def test_secret_is_not_pickled():
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(Secret("abc"))
    assert Secret("abc") == Secret("abc") and Secret("abc") != Secret("abd")


# --- [auth.NAME] in agent.toml -------------------------------------------------------------


def _load(tmp_path, text: str):
    import teragent_auth
    from teragent.config.loader import load_full_config
    from teragent.testing.hosts import isolated_host

    path = tmp_path / "agent.toml"
    path.write_text(textwrap.dedent(text))
    with isolated_host(teragent_auth):
        return load_full_config(path)


def test_config_builds_the_manager(tmp_path, auth_server, clock, monkeypatch):
    cfg = _load(tmp_path, f"""
        [auth.billing]
        type = "oauth2_client_credentials"
        token_url = "{auth_server.url}/oauth/token"
        client_id = "{CLIENT_ID}"
        client_secret_env = "TEST_BILLING_SECRET"
        scopes = ["a"]

        [auth.gh]
        type = "api_key"
        key_env = "GH_KEY"
        query = "key"
        """)
    monkeypatch.setenv("TEST_BILLING_SECRET", CLIENT_SECRET)
    mgr = AuthManager.from_config(cfg, clock=clock)
    assert mgr.names() == ["billing", "gh"]
    token = asyncio.run(mgr.get("billing").token())
    assert token.reveal() == auth_server.issued[0]
    assert isinstance(mgr.get("gh"), ApiKeyCredential) and mgr.get("gh").query == "key"


@pytest.mark.parametrize("body, wanted", [
    ('type = "bearer"\ntoken = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"',
     "[auth] gh: 'token': secrets do not go in agent.toml"),
    ('type = "bearer"\ntokn_env = "X"', "did you mean 'token_env'?"),
    ('type = "bearer"', "a bearer credential needs token_env"),
    ('type = "oauth"', "[auth] gh.type: Input should be"),
])
def test_config_errors_name_the_fix_and_hide_the_value(tmp_path, body, wanted):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "[auth.gh]\n" + body + "\n")
    text = str(info.value)
    assert "agent.toml:" in text and wanted in text, text
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in text
