"""``teragent doctor``: registered through the command hook, exit status by severity."""

from __future__ import annotations

from teragent.cli import main

OPENAI = "sk-proj-" + "A1b2C3d4" * 5


def test_doctor_finds_a_pasted_key_and_fails(tmp_path, capsys):
    toml = tmp_path / "agent.toml"
    toml.write_text(f'[drivers.openai_compatible.main]\napi_key = "{OPENAI}"\n')
    env = tmp_path / ".env"
    env.write_text("OPENAI_API_KEY=your-key-here\n")
    env.chmod(0o600)
    code = main(["doctor", "--config", str(toml), "--env-file", str(env)])
    out = capsys.readouterr().out
    assert code == 1
    assert "critical" in out and "OpenAI credential" in out and OPENAI not in out
    assert "placeholder" in out


def test_doctor_clean_config_passes(tmp_path, capsys):
    toml = tmp_path / "agent.toml"
    toml.write_text('[drivers.openai_compatible.main]\napi_key_env = "OPENAI_API_KEY"\n'
                    'max_tokens = "4096"\nsession_dir = "sessions"\n')
    assert main(["doctor", "--config", str(toml), "--env-file", str(tmp_path / "none")]) == 0


def test_documented_module_is_this_plugin():
    import teragent.config.api_key_security as documented
    from teragent_doctor import keys

    assert documented is keys and documented.ApiKeyVault is keys.ApiKeyVault
