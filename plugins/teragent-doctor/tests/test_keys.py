"""ApiKeyVault: resolution, masking, and the audits that find pasted keys."""

from __future__ import annotations

import subprocess

import pytest
from teragent_doctor.keys import (
    ApiKeyVault,
    SecurityFinding,
    audit_config_security,
    audit_env_file,
    find_vendor_keys,
)
from teragent.errors import MissingCredentialsError, UserError

OPENAI = "sk-proj-" + "A1b2C3d4" * 5
ANTHROPIC = "sk-ant-api03-" + "x9Y8z7W6" * 4
GOOGLE = "AIza" + "S" * 35
AWS = "AKIA" + "ABCDEFGHIJKLMNOP"
GLM = "0123456789abcdef0123456789abcdef.AbCdEfGhIjKlMnOp"


def test_resolution_order_and_masking(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"OPENAI_API_KEY={OPENAI}\nOTHER='quoted value'\n")
    vault = ApiKeyVault(env={"OPENAI_API_KEY": "from-env-123456789"}, dotenv_files=[env_file])
    assert vault.get("OPENAI_API_KEY") == "from-env-123456789"
    assert vault.source_of("OPENAI_API_KEY") == "environment"
    vault = ApiKeyVault(env={}, dotenv_files=[env_file])
    assert vault.get("OPENAI_API_KEY") == OPENAI
    assert vault.source_of("OPENAI_API_KEY") == str(env_file)
    assert vault.masked("OPENAI_API_KEY") == "sk-p***"
    assert OPENAI not in repr(vault.status(["OPENAI_API_KEY", "MISSING"]))
    assert vault.known_secrets() == [OPENAI]
    with pytest.raises(MissingCredentialsError, match="MISSING_KEY"):
        vault.get("MISSING_KEY")
    assert vault.get("MISSING_KEY", required=False) is None
    with pytest.raises(UserError, match="not an environment variable name") as err:
        vault.get(OPENAI)
    assert OPENAI not in str(err.value)

    class Driver:
        api_key_env = "OTHER"
        name = "openai_compatible.x"

    assert vault.resolve(Driver()) == "quoted value"


def test_vendor_shapes():
    text = f"a {OPENAI} b {ANTHROPIC} c {GOOGLE} d {AWS} e {GLM} f ghp_{'a' * 36}"
    vendors = [v for v, _ in find_vendor_keys(text)]
    assert sorted(vendors) == sorted(["Anthropic", "OpenAI", "Google", "GitHub", "AWS",
                                      "Zhipu GLM"])
    assert find_vendor_keys("sk-short and model = gpt-4o-mini") == []


def test_audit_config_file(tmp_path):
    toml = tmp_path / "agent.toml"
    toml.write_text(f"""
[drivers.openai_compatible.main]
model = "gpt-4o"
api_key_env = "OPENAI_API_KEY"

[drivers.anthropic_native.claude]
api_key = "{ANTHROPIC}"

[drivers.glm.x]
api_key_env = "{GLM}"

[tools.search]
token = "tok_live_123456"
password = "your-password-here"
notes = '''
pasted {AWS}
'''
""")
    findings = audit_config_security(toml)
    assert all(isinstance(f, SecurityFinding) for f in findings)
    text = "\n".join(str(f) for f in findings)
    for secret in (ANTHROPIC, GLM, AWS, "tok_live_123456"):
        assert secret not in text
    by_key = {f.key: f for f in findings}
    assert by_key["drivers.anthropic_native.claude.api_key"].severity == "critical"
    assert by_key["drivers.anthropic_native.claude.api_key"].line == 7
    assert by_key["drivers.glm.x.api_key_env"].severity == "critical"
    assert by_key["tools.search.token"].severity == "high"
    assert "tools.search.password" not in by_key  # a placeholder
    assert any("AWS" in f.message for f in findings)
    assert "drivers.openai_compatible.main.api_key_env" not in by_key


def test_audit_config_dict():
    findings = audit_config_security({"drivers": {"x": {"api_key_env": OPENAI}},
                                      "plugins": {"p": {"secret": "abcdefgh"}}})
    assert {f.key for f in findings} == {"drivers.x.api_key_env", "plugins.p.secret"}


def test_audit_env_file(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    env = tmp_path / ".env"
    env.write_text(f"OPENAI_API_KEY={ANTHROPIC}\nANTHROPIC_API_KEY=changeme\nA=1\nA=2\n")
    env.chmod(0o644)
    findings = audit_env_file(env)
    kinds = {(f.severity, f.key) for f in findings}
    assert ("high", "(file)") in kinds  # not git-ignored
    assert ("medium", "(file)") in kinds  # world-readable
    assert ("medium", "OPENAI_API_KEY") in kinds  # Anthropic key under OpenAI's name
    assert ("low", "ANTHROPIC_API_KEY") in kinds and ("low", "A") in kinds
    assert ANTHROPIC not in "\n".join(map(str, findings))
    (tmp_path / ".gitignore").write_text(".env\n")
    env.chmod(0o600)
    findings = audit_env_file(env)
    assert not any(f.key == "(file)" for f in findings)
