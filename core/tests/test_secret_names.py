"""The one vocabulary of secret names (teragent.secrets): what names a secret, and the
config refusal of secrets written inline."""

from __future__ import annotations

import pytest

from teragent.secrets import is_secret_name, refuse_inline_secrets


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "x-api-key", "apiKey", "GH_PAT",
                                  "DATABASE_PASSWORD", "MYAPIKEY", "client_secret"])
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["SSH_AUTH_SOCK", "PWD", "PATH", "HOME", "LANG"])
def test_not_secret_names(name: str) -> None:
    assert not is_secret_name(name)


def test_strict_judges_the_last_word() -> None:
    assert is_secret_name("api_key", strict=True)
    assert not is_secret_name("api_key_env", strict=True)
    assert not is_secret_name("token_budget", strict=True)


def test_inline_secret_is_refused_naming_the_env_key_not_the_value() -> None:
    fields = {"token_env", "url"}
    assert refuse_inline_secrets({"token_env": "GH", "url": "u"}, fields) == \
        {"token_env": "GH", "url": "u"}
    with pytest.raises(ValueError) as info:
        refuse_inline_secrets({"token": "ghp_supersecretvalue123"}, fields)
    assert "token_env = \"NAME\"" in str(info.value)
    assert "ghp_supersecretvalue123" not in str(info.value)
    # A declared field is the model's business, whatever its name.
    assert refuse_inline_secrets({"token": "x"}, {"token"}) == {"token": "x"}
    assert refuse_inline_secrets("not a table", fields) == "not a table"
