"""Anonymity without side channels (#12): nothing on disk links an anonymous reporter's Telegram
id to their report, their draft or their receipt code: not the database, not its -wal file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.runtime.inbox import keep
from storage.db import Storage
from tests import factories
from tests.conftest import Harness
from tests.test_incidents import DESCRIPTION, REGIONAL, cards, network

SECRET_ID = 987654321  # easy to find as text in the files
FIRST_DRAFT = "Первый вариант: соседка Зульфия Ахмедовна видела всё из окна"


async def through_inbox(h: Harness, update_json: dict[str, object]) -> None:
    """As in production: the update's JSON is stored in the inbox first, then handled."""
    await keep(h.app.bot_data, [update_json])
    await h.app.process_update(factories.Update.de_json(update_json, h.app.bot))


async def columns_holding(storage: Storage, value: int) -> set[tuple[str, str]]:
    """Every (table, column) of the database with a row holding `value` (stored as a number)."""
    found: set[tuple[str, str]] = set()
    tables = await storage.db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for (table,) in tables:
        for column in await storage.db.fetchall(f"PRAGMA table_info({table})"):
            name = column["name"]
            if await storage.db.fetchone(f"SELECT 1 FROM {table} WHERE {name} = ?", (value,)):
                found.add((str(table), str(name)))
    return found


def files_of(db: Path) -> bytes:
    found = b""
    for suffix in ("", "-wal", "-journal"):
        path = db.with_name(db.name + suffix)
        if path.exists():
            found += path.read_bytes()
    return found


async def test_after_an_anonymous_report_neither_the_database_nor_the_wal_holds_the_id_or_draft(
    harness: Harness,
) -> None:
    from tests.test_registration import register

    await network(harness)
    await register(harness, SECRET_ID, name="Тайный Заявитель")
    p = harness.person(SECRET_ID)
    user = p.user

    async def say(text: str) -> None:
        payload = {
            "update_id": next(factories._update_ids),
            "message": factories.message_dict(user, text),
        }
        await through_inbox(harness, json.loads(json.dumps(payload)))

    await say("/report")
    await p.tap("Нет")
    await p.tap("Угрозы")
    await p.tap("📍")
    await say("Самара, ул. Победы, 5")
    await p.tap("Сегодня")
    await say(FIRST_DRAFT)
    await p.tap("Назад")  # the first draft of the description is replaced
    await say(DESCRIPTION)
    await p.tap("Вложений нет")
    await p.tap("В ближайшие дни")
    await p.tap("Анонимно")
    await p.tap("Отправить")
    assert "Сохраните код" in p.last
    settings = harness.app.bot_data.settings
    assert settings is not None
    wal = settings.database_path.with_name(settings.database_path.name + "-wal")
    assert wal.stat().st_size == 0  # checkpointed and cut once the report's update was handled
    await harness.deliver()
    assert "разбили окна" in cards(harness, REGIONAL)[-1]
    code = p.last.split("<code>")[1].split("</code>")[0]
    await say(f"/status {code}")  # later the reporter adds details, typed to the code
    await p.tap("Добавить подробности")
    await say("Подробность: это было около шести вечера")
    assert "переданы координаторам" in p.last
    assert wal.stat().st_size == 0
    on_disk = files_of(settings.database_path)
    assert str(SECRET_ID).encode() not in on_disk  # as text: in a stored update's JSON
    assert FIRST_DRAFT.encode() not in on_disk
    assert "Ахмедовна".encode() not in on_disk
    # as a number, column by column: the id is only where the member is, never by a report
    assert await columns_holding(harness.storage, SECRET_ID) == {("members", "telegram_id")}
    member = await harness.storage.members.by_telegram_id(SECRET_ID)
    assert member is not None
    linked = await columns_holding(harness.storage, member.id)
    assert not linked & {("incidents", "reporter_member_id"), ("outbox", "member_id")}, linked


async def test_forget_and_the_hourly_sweep_empty_the_wal(harness: Harness) -> None:
    from tests.test_registration import register

    await register(harness, SECRET_ID, name="Тайный Заявитель")
    settings = harness.app.bot_data.settings
    assert settings is not None
    wal = settings.database_path.with_name(settings.database_path.name + "-wal")
    assert wal.stat().st_size > 0
    p = harness.person(SECRET_ID)
    await p.send("/report")  # a draft kept in memory goes too
    await p.send("/forget")
    await p.tap("Да")
    assert await harness.storage.dialogs.get(SECRET_ID) is None
    assert wal.stat().st_size == 0
    assert "Тайный".encode() not in files_of(settings.database_path)
    await p.send("/start")
    assert wal.stat().st_size > 0
    assert await harness.storage.db.checkpoint()  # what the hourly sweep runs
    assert wal.stat().st_size == 0


# ---------------------------------------------------------------- receipt codes


def test_receipt_codes_have_at_least_40_bits() -> None:
    import math

    from bot.incidents.report import CODE_ALPHABET, CODE_LENGTH, new_code, normalise_code

    assert CODE_LENGTH * math.log2(len(CODE_ALPHABET)) >= 40
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert normalise_code(code) == code
        assert normalise_code(code.lower().replace("-", " ")) == code
    assert normalise_code("k7q42xmpa") == "K7Q-42X-MPA"
    assert normalise_code("K7-42QX") == "K7-42QX"  # codes of reports made before still work


async def test_wrong_codes_are_limited_network_wide_across_a_restart(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_incidents import REPORTER, report, restarted

    await network(harness)
    code = await report(harness, REPORTER, anonymous=True)
    guessers = [harness.person(6000 + i) for i in range(3)]
    # a smaller figure for the test (1000 in production)
    monkeypatch.setattr("bot.limits.WRONG_CODES_PER_HOUR", 12)
    try:
        for person in guessers[:2]:
            for _ in range(6):  # each below their own limit of 10
                await person.send("/status AAA-BBB-CCC")
                assert "Не нашёл обращение" in person.last
        await restarted(harness)  # the network-wide count is on disk: a restart keeps it
        await guessers[2].send(f"/status {code}")
        assert "Слишком много неверных кодов" in guessers[2].last
        await harness.person(REPORTER).send(f"/status {code}")
        assert "Слишком много неверных кодов" in harness.person(REPORTER).last
        rows = await harness.storage.db.fetchall("SELECT name, count FROM guard_counters")
        assert [tuple(r) for r in rows] == [("wrong_code", 12)]  # nobody's id in it
        harness.clock.advance(hours=1)
        await harness.person(REPORTER).send(f"/status {code}")
        assert (
            "Обращение" in harness.person(REPORTER).last and code in harness.person(REPORTER).last
        )
    finally:
        await harness.app.shutdown()
        await harness.storage.close()


async def test_a_code_stops_working_when_the_reports_retention_ends(harness: Harness) -> None:
    from tests.test_incidents import REPORTER, later, report

    await network(harness)
    code = await report(harness, REPORTER, anonymous=True)
    await harness.deliver()
    reporter = harness.person(REPORTER)
    await reporter.send(f"/status {code}")
    await reporter.tap("Отозвать обращение")
    await reporter.tap("Да, отозвать")
    await later(harness, days=364)
    await reporter.send(f"/status {code}")
    assert "отозвано" in reporter.last.lower() or code in reporter.last
    harness.clock.advance(days=1, hours=1)  # RETENTION_DAYS (365) after it was closed
    await reporter.send(f"/status {code}")  # before the hourly purge ran, too
    assert "Не нашёл обращение" in reporter.last
    await later(harness, hours=1)
    await reporter.send(f"/status {code}")
    assert "Не нашёл обращение" in reporter.last


# ---------------------------------------------------------------- abuse marks


async def mark_as_abuse(h: Harness, incident_id: int) -> str:
    regional = h.person(REGIONAL)
    await regional.send(f"/incident {incident_id}")
    await regional.tap("Злоупотребление")
    assert "Отметить обращение" in regional.last
    await regional.tap("Да, злоупотребление")
    assert "отмечено как злоупотребление" in regional.alerts()[-1]
    return regional.alerts()[-1]


async def test_abuse_lowers_a_named_reporters_limit_durably(harness: Harness) -> None:
    from tests.test_incidents import REPORTER, report, restarted

    await network(harness)
    await report(harness, REPORTER)
    await harness.deliver()
    await mark_as_abuse(harness, 1)
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.abuse
    assert [e.action for e in await harness.storage.incidents.timeline(1)][-1] == "abuse"
    harness.clock.advance(hours=1)
    await restarted(harness)  # the penalty of a named reporter is on disk
    await report(harness, REPORTER)  # one an hour is still allowed
    reporter = harness.person(REPORTER)
    await reporter.send("/report")
    assert "не больше одного обращения в час" in reporter.last
    harness.clock.advance(days=31)
    await reporter.send("/report")
    assert "опасность" in reporter.last  # the usual limit again
    await harness.app.shutdown()
    await harness.storage.close()


async def test_abuse_on_an_anonymous_report_names_nobody(harness: Harness) -> None:
    from tests.test_incidents import REPORTER, report

    await network(harness)
    await report(harness, REPORTER, anonymous=True)
    await harness.deliver()
    await mark_as_abuse(harness, 1)
    reporter = harness.person(REPORTER)
    harness.clock.advance(hours=1)
    await report(harness, REPORTER)
    await reporter.send("/report")
    assert "не больше одного обращения в час" in reporter.last
    member = await harness.storage.members.by_telegram_id(REPORTER)
    assert member is not None
    assert await harness.storage.db.fetchall("SELECT * FROM report_penalties") == []
    counters = await harness.storage.db.fetchall("SELECT name FROM guard_counters")
    assert [r[0] for r in counters] == [f"report:{member.id}"]  # the named report only
    again = harness.person(REGIONAL)
    await again.press("inc:1:abuse_yes", message_id=1)
    assert "уже отмечено" in again.alerts()[-1]


async def test_only_the_regions_coordinators_mark_abuse(harness: Harness) -> None:
    from tests.test_admin import make_coordinator
    from tests.test_events import join
    from tests.test_incidents import REPORTER, report
    from tests.test_registration import register

    await network(harness)
    await register(harness, 2004)
    await join(harness, 2005, "Сибирский", "Иркутская область", "Образование")
    await make_coordinator(harness, 2005, "RU-IRK")
    await report(harness, REPORTER)
    await harness.deliver()
    member, other = harness.person(2004), harness.person(2005)
    for data in ("inc:1:abuse", "inc:1:abuse_yes"):
        await member.press(data, message_id=1)
        assert "только координаторам" in member.alerts()[-1]
        await other.press(data, message_id=1)
        assert "другого региона" in other.alerts()[-1]
    await harness.person(REPORTER).press("inc:1:abuse_yes", message_id=1)
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and not incident.abuse
    assert await harness.storage.db.fetchall("SELECT * FROM report_penalties") == []


# ---------------------------------------------------------------- notices to anonymous reporters


async def test_notices_reach_an_anonymous_reporter_directly_while_status_is_open(
    harness: Harness,
) -> None:
    from tests.test_incidents import REPORTER, later, report

    await network(harness)
    code = await report(harness, REPORTER, anonymous=True)
    await harness.deliver()
    reporter, regional = harness.person(REPORTER), harness.person(REGIONAL)
    await reporter.send(f"/status {code}")
    await regional.tap("Задать вопрос заявителю")
    await regional.send("Где именно были надписи?")
    assert "передан заявителю" in regional.last
    assert "Где именно были надписи?" in reporter.last  # at once, not queued
    await reporter.tap("Ответить")
    await reporter.send("На двери")
    await harness.deliver()
    assert "На двери" in regional.last
    await regional.tap("Беру в работу")
    assert "взято в работу" in reporter.last
    outbox = await harness.storage.db.fetchall("SELECT chat_id, payload FROM outbox")
    assert REPORTER not in [r[0] for r in outbox]
    assert not any(code in r[1] for r in outbox)
    await later(harness, hours=2)  # /status was opened long ago: the next question waits
    shown = len(reporter.texts)
    await regional.send("/incident 1")
    await regional.tap("Задать вопрос заявителю")
    await regional.send("Были ли свидетели?")
    assert "Заявитель анонимен" in regional.last
    assert len(reporter.texts) == shown
    await reporter.send(f"/status {code}")
    assert "Были ли свидетели?" in reporter.last


async def test_abuse_on_an_anonymous_report_from_before_a_restart_is_said_plainly(
    harness: Harness,
) -> None:
    from tests.test_incidents import REPORTER, report, restarted

    await network(harness)
    await report(harness, REPORTER, anonymous=True)
    await harness.deliver()
    await restarted(harness)
    said = await mark_as_abuse(harness, 1)
    assert "не знает отправителя" in said
    await harness.person(REPORTER).send("/report")
    assert "опасность" in harness.person(REPORTER).last  # nobody's limit dropped
    await harness.app.shutdown()
    await harness.storage.close()


async def test_old_short_codes_have_a_much_lower_network_wide_limit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 6-character codes of reports made before (about 30 bits) would not hold against
    the network-wide limit of the new ones for a year: their wrong guesses have a limit of
    their own (50 an hour; 4 here), and the new codes keep working meanwhile."""
    from tests.test_incidents import REPORTER, report

    await network(harness)
    code = await report(harness, REPORTER, anonymous=True)
    monkeypatch.setattr("bot.limits.WRONG_SHORT_CODES_PER_HOUR", 4)
    guessers = [harness.person(6100 + i) for i in range(2)]
    for n in range(4):
        await guessers[n % 2].send(f"/status AB-CDE{n}")
        assert "Не нашёл обращение" in guessers[n % 2].last
    await guessers[0].send("/status AB-CDEZ")
    assert "Слишком много неверных кодов" in guessers[0].last
    await guessers[1].send(f"/status {code}")  # a code of the new form still works
    assert code in guessers[1].last
    rows = await harness.storage.db.fetchall("SELECT name, count FROM guard_counters")
    assert sorted(tuple(r) for r in rows) == [("wrong_code", 4), ("wrong_short_code", 4)]
