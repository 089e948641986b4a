"""SMTP settings that would leak the password are refused before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from handout_gen.cli import cli
from handout_gen.core.errors import SendError
from handout_gen.newsletter.send import SmtpSettings


def test_password_is_never_sent_without_starttls_to_a_remote_server() -> None:
    with pytest.raises(SendError, match="refusing to send the SMTP password to mail.example.org unencrypted"):
        SmtpSettings("mail.example.org", 587, starttls=False, user="news", password="secret")
    SmtpSettings("mail.example.org", 587, starttls=True, user="news", password="secret")  # fine
    SmtpSettings("127.0.0.1", 1025, starttls=False, user="news", password="secret")  # local relay


def test_user_without_password_in_the_environment() -> None:
    with pytest.raises(SendError, match="SMTP_PASSWORD is not set"):
        SmtpSettings("mail.example.org", 587, starttls=True, user="news")


def test_cli_refuses_before_connecting(sample_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "secret")
    result = CliRunner().invoke(cli, [
        "--project", str(sample_project), "send", "2026-12", "--to", "me@example.org",
        "--smtp-host", "mail.example.org", "--smtp-port", "587", "--smtp-user", "news",
    ])
    assert result.exit_code == 1
    expected = "Error: refusing to send the SMTP password to mail.example.org unencrypted"
    assert result.stderr.startswith(expected)
    assert "secret" not in result.output + result.stderr
