import subprocess
import sys
from pathlib import Path

import pytest

from cara_fed.config import ConfigError, example_toml, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_operator_contract():
    config = load_config(environ={})
    assert (config.server.host, config.server.port, config.server.domain) == ("127.0.0.1", 8080, "127.0.0.1:8080")
    assert config.server.data_dir == "./data"
    assert config.federation.allow_private_addresses is False
    assert config.database_url.startswith("sqlite+aiosqlite:///") and config.database_url.endswith("data/cara-fed.db")


def test_environment_overrides_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[server]\nport = 9000\ndomain = "art.example"\n[instance]\nregistration = "invite"\n')
    config = load_config(path, environ={"CARA_FED__SERVER__PORT": "8081", "CARA_FED__JOBS__EMBEDDED_WORKER": "false"})
    assert config.server.port == 8081
    assert config.server.domain == "art.example"
    assert config.instance.registration == "invite"
    assert config.jobs.embedded_worker is False


def test_bad_values_are_reported_in_plain_words(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[server]\nport = "eighty"\nscheme = "gopher"\n[nonsense]\nx = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"CARA_FED__SERVER__POTR": "1", "CARA_FED__SECURITY__LOGIN_ATTEMPTS": "0"})
    text = "\n".join(caught.value.problems)
    assert "[server] port: expected int, got str ('eighty')" in text
    assert "[server] scheme: 'gopher' is not allowed; choose one of http, https" in text
    assert "[nonsense]: unknown section" in text
    assert "CARA_FED__SERVER__POTR: unknown setting in [server]" in text
    assert "[security] login_attempts: 0 is too small; the minimum is 1" in text


def test_example_config_is_complete_and_loads(tmp_path):
    shipped = (ROOT / "config.example.toml").read_text()
    assert shipped == example_toml(), "config.example.toml is stale: regenerate with `make config-example`"
    path = tmp_path / "c.toml"
    path.write_text(shipped)
    assert load_config(path, environ={}).server.port == 8080


def test_check_command_names_the_bad_key(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[instance]\nregistration = "sometimes"\n')
    result = subprocess.run([sys.executable, "-m", "cara_fed_run.cli", "--config", str(path), "check"],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "[instance] registration: 'sometimes' is not allowed" in result.stderr
    ok = subprocess.run([sys.executable, "-m", "cara_fed_run.cli", "check"], capture_output=True, text=True,
                        env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert ok.returncode == 0 and "configuration OK" in ok.stdout


def test_mail_settings_load_and_refuse_a_cleartext_password_to_another_host():
    config = load_config(environ={"CARA_FED__MAIL__HOST": "smtp.example.org", "CARA_FED__MAIL__PORT": "465",
                                  "CARA_FED__MAIL__SECURITY": "ssl", "CARA_FED__MAIL__USER": "cara",
                                  "CARA_FED__MAIL__REQUIRE_VERIFIED_EMAIL": "false"})
    assert config.mail.enabled and config.mail.port == 465 and not config.mail.require_verified_email
    assert not load_config(environ={}).mail.enabled  # no host: email features are off
    with pytest.raises(ConfigError, match=r"\[mail\] security: 'none' would send the SMTP password"):
        load_config(environ={"CARA_FED__MAIL__HOST": "smtp.example.org", "CARA_FED__MAIL__SECURITY": "none",
                             "CARA_FED__MAIL__USER": "cara"})
    local = load_config(environ={"CARA_FED__MAIL__HOST": "127.0.0.1", "CARA_FED__MAIL__SECURITY": "none",
                                 "CARA_FED__MAIL__USER": "cara"})
    assert local.mail.security == "none"
