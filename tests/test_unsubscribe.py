"""Unsubscribe tokens, the practice secret and the suppression list (newsletter/unsubscribe.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from handout_gen.cli import cli
from handout_gen.core.errors import ConfigError
from handout_gen.newsletter import unsubscribe
from handout_gen.newsletter.unsubscribe import (
    NO_SECRET,
    LanguageChoices,
    SuppressionList,
    Unsubscribe,
    UnsubscribeTokens,
    load_secret,
    make_secret,
)

TOKENS = UnsubscribeTokens(b"k" * 40)


def test_token_binds_issue_and_address_hash_and_never_shows_the_address() -> None:
    token = TOKENS.token("2026-12", " Ana.Reyes@Example.org ")
    issue, reader, signature = token.split(".")
    assert issue == "2026-12" and len(reader) == len(signature) == 22
    assert TOKENS.verify(token) == Unsubscribe("2026-12", reader, token)
    assert "ana" not in token.lower() and "example" not in token.lower()
    # the address hash is the same in every issue (one opt-out covers later issues) ...
    assert TOKENS.token("2027-01", "ana.reyes@example.org").split(".")[1] == reader
    # ... and means nothing without the secret: another secret gives another hash
    assert UnsubscribeTokens(b"j" * 40).reader("ana.reyes@example.org") != reader


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("2026-12", "2027-01", 1),  # another issue
        lambda t: t[:9] + ("A" if t[9] != "A" else "B") + t[10:],  # another reader
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # another MAC
        lambda t: t[:-2],  # cut short
        lambda t: t + ".x",  # an extra part
        lambda t: "",
        lambda t: "../etc." + t,
        lambda t: t + "A" * 200,
        lambda t: UnsubscribeTokens(b"j" * 40).token("2026-12", "ana@example.org"),  # another secret
    ],
)
def test_altered_or_forged_tokens_are_refused(change: object) -> None:
    token = TOKENS.token("2026-12", "ana@example.org")
    assert TOKENS.verify(change(token)) is None  # type: ignore[operator]


def test_verify_compares_the_mac_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = unsubscribe.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(unsubscribe.hmac, "compare_digest", spy)
    assert TOKENS.verify(TOKENS.token("2026-12", "ana@example.org")) is not None
    assert len(calls) == 1


def test_secret_from_a_file_wins_and_must_not_be_world_readable(tmp_path: Path) -> None:
    key = tmp_path / "secret.key"
    key.write_text("f" * 40 + "\n")
    key.chmod(0o640)
    env = {"HANDOUT_GEN_SECRET_FILE": str(key), "HANDOUT_GEN_SECRET": "e" * 40}
    assert load_secret(env) == b"f" * 40
    key.chmod(0o644)
    with pytest.raises(ConfigError, match=rf"^{key} \(the unsubscribe secret\) can be read by every user; "
                       rf"run: chmod o-r {key}$"):
        load_secret(env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, NO_SECRET),
        ({"HANDOUT_GEN_SECRET": "short"},
         "the unsubscribe secret in HANDOUT_GEN_SECRET is 5 characters; it needs at least 32 "
         "(make one with 'handout-gen new-secret FILE')"),
        ({"HANDOUT_GEN_SECRET_FILE": "/nonexistent/secret.key"},
         "cannot read the unsubscribe secret /nonexistent/secret.key (HANDOUT_GEN_SECRET_FILE): "
         "No such file or directory"),
    ],
)
def test_missing_or_weak_secret_is_a_clean_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_secret(env)
    assert str(info.value) == message


def test_new_secret_writes_a_private_key_once(sample_project: Path, tmp_path: Path) -> None:
    target = tmp_path / "keys" / "secret.key"
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "new-secret", str(target)])
    assert result.exit_code == 0, result.output
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert load_secret({"HANDOUT_GEN_SECRET_FILE": str(target)}) == target.read_text().strip().encode()
    before = target.read_bytes()
    again = CliRunner().invoke(cli, ["--project", str(sample_project), "new-secret", str(target)])
    assert again.exit_code == 1 and target.read_bytes() == before
    assert "already exists; a new key would break every unsubscribe link sent" in again.stderr
    with pytest.raises(ConfigError, match="refusing to keep the secret in .*output"):
        make_secret(sample_project / "output" / "site" / "key", project_output=sample_project / "output")


def test_a_send_without_a_secret_stops_before_anything_is_prepared(
    sample_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANDOUT_GEN_SECRET")
    (tmp_path / "list.csv").write_text("email\na@example.org\n")
    result = CliRunner().invoke(cli, ["--project", str(sample_project), "send", "2026-12",
                                      "--recipients", str(tmp_path / "list.csv"), "--dry-run"])
    assert result.exit_code == 1
    assert result.stderr.endswith(f"Error: {NO_SECRET}\n")
    assert "Preparing" not in result.stderr  # no progress bar starts on a send that cannot go on


def test_suppression_list_is_append_only_fsynced_and_holds_tokens_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    path = tmp_path / "private" / "unsubscribed.jsonl"
    suppressions = SuppressionList(path)
    ana = TOKENS.verify(TOKENS.token("2026-12", "ana@example.org"))
    assert ana is not None
    assert suppressions.add(ana, "one-click") is True
    assert len(synced) == 1
    ana_again = TOKENS.verify(TOKENS.token("2027-01", "ANA@example.org"))
    assert ana_again is not None and suppressions.add(ana_again, "form") is False  # already on the list
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["token"], e["via"]) for e in lines] == [(ana.token, "one-click")]
    assert "ana" not in path.read_text()
    # a line made with another secret matches nobody (and is counted); a torn last line is skipped
    other = UnsubscribeTokens(b"j" * 40).token("2026-12", "ben@example.org")
    with path.open("a") as handle:
        handle.write(json.dumps({"token": other}) + "\n" + '{"token": "2026-12.tor')
    found = suppressions.suppressed(TOKENS)
    assert found.readers == {TOKENS.reader("ana@example.org")} and found.foreign == 1


def test_suppression_list_location(tmp_path: Path) -> None:
    assert SuppressionList.for_project(tmp_path, {}).path == tmp_path / "private" / "unsubscribed.jsonl"
    named = SuppressionList.for_project(tmp_path, {"HANDOUT_GEN_SUPPRESSIONS": "/srv/optouts.jsonl"})
    assert named.path == Path("/srv/optouts.jsonl")


def test_language_choices_sit_beside_the_list_and_the_last_offered_choice_counts(
        tmp_path: Path) -> None:
    named = {"HANDOUT_GEN_SUPPRESSIONS": str(tmp_path / "o.jsonl")}
    suppressions = SuppressionList.for_project(tmp_path, named)
    choices = LanguageChoices.beside(suppressions)
    assert choices.path == tmp_path / "newsletter-languages.jsonl"
    ana = TOKENS.verify(TOKENS.token("2026-12", "ana@example.org"))
    ben = TOKENS.verify(TOKENS.token("2026-12", "ben@example.org"))
    assert ana is not None and ben is not None
    for reader, language in ((ana, "es"), (ben, "es"), (ana, "en"), (ben, "zh")):
        choices.choose(reader, language)
    stranger = UnsubscribeTokens(b"j" * 40).token("2026-12", "carla@example.org")
    with choices.path.open("a") as handle:
        handle.write(json.dumps({"token": stranger, "language": "es"}) + "\n")
    assert choices.chosen(TOKENS) == {ana.reader: "en", ben.reader: "zh"}
    # a language the practice no longer keeps is no choice, nor is the one chosen before it
    assert choices.chosen(TOKENS, offered=("en", "es")) == {ana.reader: "en"}
    assert "ana" not in choices.path.read_text() and not suppressions.path.exists()
