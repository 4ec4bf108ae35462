"""Production settings: ``check --deploy`` is clean with the environment a deployment has, and
the settings refuse to start when they would be unsafe."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """What a real deployment sets (docs: README «Producción»), and nothing from the test
    run's own environment (VENTANILLA_ENV=test, DATABASE_URL…)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO / "src"),
        "VENTANILLA_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "example.cl",
        "SITE_URL": "https://example.cl",
        "VENTANILLA_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'db.sqlite3'}",
        "DEFAULT_FROM_EMAIL": "Ventanilla <no-responder@example.cl>",
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)


def load_settings(env: dict[str, str], expression: str = "'ok'") -> subprocess.CompletedProcess:
    return run(env, "-c", "import os; os.environ['DJANGO_SETTINGS_MODULE']='ventanilla.settings';"
                          "from django.conf import settings; settings.DEBUG;"
                          f"print({expression})")


def test_check_deploy_is_clean(tmp_path):
    result = run(production_env(tmp_path), "-m", "ventanilla", "check", "--deploy",
                 "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_notices_a_weakened_setting(tmp_path):
    """The test above is able to fail: turning HSTS off is reported."""
    result = run(production_env(tmp_path, SECURE_HSTS_SECONDS="0"), "-m", "ventanilla",
                 "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_production_defaults_are_the_safe_ones(tmp_path):
    result = load_settings(production_env(tmp_path), "repr(("
                           "settings.DEBUG, settings.SECURE_SSL_REDIRECT, "
                           "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
                           "settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
                           "settings.X_FRAME_OPTIONS))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr((False, True, True, True, 31536000, True, "DENY"))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"DEBUG": "1"}, "DEBUG must be off in production"),
    ({"DEBUG": "true"}, "DEBUG must be off in production"),
    ({"SECRET_KEY": None}, "SECRET_KEY is required in production"),
    ({"SECRET_KEY": "corta-y-predecible"}, "SECRET_KEY must be at least 50"),
    ({"SECRET_KEY": "a" * 60}, "SECRET_KEY must be at least 50"),
    ({"SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(50)},
     "SECRET_KEY must be at least 50"),
    ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is required in production"),
    ({"SECURE_SSL_REDIRECT": "0"}, "SECURE_SSL_REDIRECT=0 in production needs BEHIND_PROXY"),
])
def test_production_refuses_unsafe_settings(tmp_path, overrides, message):
    result = load_settings(production_env(tmp_path, **overrides))
    assert result.returncode != 0
    assert message in result.stderr


def test_tls_at_the_proxy_is_allowed_when_declared(tmp_path):
    env = production_env(tmp_path, SECURE_SSL_REDIRECT="0", BEHIND_PROXY="1")
    result = load_settings(env, "settings.SECURE_PROXY_SSL_HEADER")
    assert result.returncode == 0, result.stderr
    assert "HTTP_X_FORWARDED_PROTO" in result.stdout
    check = run(env, "-m", "ventanilla", "check", "--deploy", "--fail-level", "WARNING")
    assert check.returncode == 0, check.stdout + check.stderr


def test_report_only_mode_sends_the_same_policy_without_enforcing(tmp_path):
    result = load_settings(production_env(tmp_path, CSP_REPORT_ONLY="1"), "repr(("
                           "hasattr(settings, 'CONTENT_SECURITY_POLICY'),"
                           "settings.CONTENT_SECURITY_POLICY_REPORT_ONLY['DIRECTIVES']"
                           "['script-src']))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr((False, ["'self'"]))
