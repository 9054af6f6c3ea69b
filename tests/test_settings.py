"""Settings: formats, errors naming the variable, the CLI's exit code, the token never logged."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.logs import Throttle, setup_logging, warn_if_exposed
from bot.settings import Settings, SettingsError, load_settings
from storage.db import load_migrations
from tests.fake_telegram import TOKEN


@pytest.mark.parametrize("value", ["1,2", "[1,2]", "[1, 2]", " 1 , 2 "])
def test_admin_ids_formats(value: str) -> None:
    settings = load_settings(None, bot_token=TOKEN, admin_ids=value, _env_file=None)
    assert settings.admin_ids == frozenset({1, 2})


def test_defaults() -> None:
    settings = load_settings(None, bot_token=TOKEN, _env_file=None)
    assert settings.database_path == Path("data/ngo-bot.sqlite3")
    assert settings.default_language == "ru"
    assert settings.bot_api_base_url == "https://api.telegram.org/bot"
    assert settings.admin_ids == frozenset()
    assert settings.invite_ttl_hours == 72
    assert settings.digest_hour == 9


@pytest.mark.parametrize(("value", "hour"), [("off", None), ("OFF", None), ("7", 7), ("0", 0)])
def test_the_digest_hour_can_be_turned_off(value: str, hour: int | None) -> None:
    assert load_settings(None, bot_token=TOKEN, digest_hour=value, _env_file=None).digest_hour == (
        hour
    )


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({}, "BOT_TOKEN"),
        ({"bot_token": "not-a-token"}, "BOT_TOKEN"),
        ({"bot_token": TOKEN, "admin_ids": "abc"}, "ADMIN_IDS"),
        ({"bot_token": TOKEN, "default_language": "de"}, "DEFAULT_LANGUAGE"),
        ({"bot_token": TOKEN, "regions_file": "/nonexistent.json"}, "REGIONS_FILE"),
        ({"bot_token": TOKEN, "bot_api_base_url": "ftp://x"}, "BOT_API_BASE_URL"),
        ({"bot_token": TOKEN, "invite_ttl_hours": "0"}, "INVITE_TTL_HOURS"),
        ({"bot_token": TOKEN, "digest_hour": "24"}, "DIGEST_HOUR"),
        ({"bot_token": TOKEN, "digest_hour": "morning"}, "DIGEST_HOUR"),
        ({"bot_token": TOKEN, "registration_draft_days": "0"}, "REGISTRATION_DRAFT_DAYS"),
        ({"bot_token": TOKEN, "registration_draft_days": "31"}, "REGISTRATION_DRAFT_DAYS"),
        ({"bot_token": TOKEN, "registration_remind_hours": "0"}, "REGISTRATION_REMIND_HOURS"),
        # the reminder must come before the draft is deleted
        (
            {"bot_token": TOKEN, "registration_draft_days": "1", "registration_remind_hours": "24"},
            "REGISTRATION_REMIND_HOURS",
        ),
    ],
)
def test_errors_name_the_variable(overrides: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, _env_file=None, **overrides)
    assert caught.value.variable == variable


def test_settings_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.env"
    config.write_text(f"BOT_TOKEN={TOKEN}\nADMIN_IDS=5\nLOG_LEVEL=WARNING\n")
    settings = load_settings(config)
    assert settings.admin_ids == frozenset({5}) and settings.log_level == "WARNING"


def test_cli_reports_a_bad_setting_in_one_line_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    assert main(["check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "BOT_TOKEN" in err and "Traceback" not in err


def test_cli_migrate_creates_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.env").write_text(f"BOT_TOKEN={TOKEN}\nDATABASE_PATH=db/x.sqlite3\n")
    assert main(["migrate"]) == 0
    assert f"Миграций применено: {len(load_migrations())}" in capsys.readouterr().out
    assert (tmp_path / "db" / "x.sqlite3").exists()
    assert main(["migrate"]) == 0
    assert "Миграций применено: 0" in capsys.readouterr().out


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_token_never_reaches_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("DEBUG", TOKEN)
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("telegram").getEffectiveLevel() >= logging.INFO
    logging.getLogger("somewhere").warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"connection to https://api.telegram.org/bot{TOKEN}/getMe failed")
    except RuntimeError:
        logging.getLogger("somewhere").exception("request failed")
    err = capsys.readouterr().err
    assert TOKEN not in err and "<BOT_TOKEN>/getMe" in err
    assert "bot<BOT_TOKEN>/getMe failed" in err


def test_config_example_lists_every_setting_and_loads() -> None:
    example = Path(__file__).parent.parent / "config.example.env"
    names = set(re.findall(r"^([A-Z_]+)=", example.read_text(), re.M))
    assert names == {name.upper() for name in Settings.model_fields}
    settings = load_settings(example)
    assert settings.regions_file is None and settings.admin_ids == frozenset()


def test_cli_database_that_is_not_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.db").write_text("this is not a database" * 100)
    (tmp_path / "config.env").write_text(f"BOT_TOKEN={TOKEN}\nDATABASE_PATH=junk.db\n")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "DATABASE_PATH" in err


def test_cli_refuses_a_newer_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.env").write_text(f"BOT_TOKEN={TOKEN}\nDATABASE_PATH=x.db\n")
    (tmp_path / "config.env").chmod(0o600)  # else a warning line that it can be read by others
    assert main(["migrate"]) == 0
    with sqlite3.connect(tmp_path / "x.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    capsys.readouterr()
    assert main(["migrate"]) == 2
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("схема 99" in line for line in err)


def test_webhook_settings_are_checked() -> None:
    with pytest.raises(SettingsError) as missing:
        load_settings(None, bot_token=TOKEN, webhook_url="https://bot.example.org/hook")
    assert missing.value.variable == "WEBHOOK_SECRET"
    with pytest.raises(SettingsError) as weak:
        load_settings(
            None, bot_token=TOKEN, webhook_url="https://bot.example.org/hook", webhook_secret="x"
        )
    assert weak.value.variable == "WEBHOOK_SECRET"
    with pytest.raises(SettingsError) as plain:
        load_settings(None, bot_token=TOKEN, webhook_url="http://bot.example.org/hook")
    assert plain.value.variable == "WEBHOOK_URL"
    good = load_settings(
        None,
        bot_token=TOKEN,
        webhook_url="https://bot.example.org/tg/hook",
        webhook_secret="a" * 32,
    )
    assert good.webhook_path == "/tg/hook"


@pytest.mark.parametrize(
    "url",
    [
        "https://api.telegram.org/bot",
        "http://127.0.0.1:8081/bot",
        "http://localhost:8081/bot",
        "http://[::1]:8081/bot",
    ],
)
def test_bot_api_over_http_only_on_this_machine(url: str) -> None:
    assert load_settings(None, bot_token=TOKEN, bot_api_base_url=url, _env_file=None)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.org/bot",
        "http://10.0.0.5:8081/bot",
        "http://127.example/bot",
        "http://bot.localhost/bot",  # a name that a resolver may send to DNS
    ],
)
def test_bot_api_over_plain_http_elsewhere_is_refused(url: str) -> None:
    """The token is in the address of every request: never in clear over a network."""
    for variable in ("bot_api_base_url", "bot_api_base_file_url"):
        with pytest.raises(SettingsError) as caught:
            load_settings(None, bot_token=TOKEN, _env_file=None, **{variable: url})
        assert caught.value.variable == variable.upper()
        assert "https://" in caught.value.problem


def test_a_config_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "config.env"
    config.write_text(f"BOT_TOKEN={TOKEN}\n", "utf-8")
    config.chmod(0o600)
    with caplog.at_level(logging.WARNING):
        assert warn_if_exposed(config) is False
        assert not caplog.records
        config.chmod(0o644)
        assert warn_if_exposed(config) is True
    assert "chmod 600" in caplog.text and TOKEN not in caplog.text

    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with caplog.at_level(logging.WARNING):
        assert warn_if_exposed(folder, "people's data") is True
    assert "holds people's data: chmod 700" in caplog.text


def test_a_flood_of_the_same_warning_is_one_line_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    throttle = Throttle(60.0, clock=lambda: now[0])
    logger = logging.getLogger("test.throttle")
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        logged = [throttle.warning(logger, "refused from %s", "1.2.3.4") for _ in range(50)]
        now[0] += 61
        logged.append(throttle.warning(logger, "refused from %s", "1.2.3.4"))
    assert logged.count(True) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "refused from 1.2.3.4",
        "refused from 1.2.3.4 (and 49 more like it since the last such line)",
    ]
