"""Erasure that holds: a member who did everything the bot offers erases their data, and then
no table or column of the whole database holds their Telegram id, their member id (where it
would link to them) or their name and organisation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from storage.db import Storage
from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_evaluations import ENDS, answer_all, at, make_event
from tests.test_incidents import REGIONAL_2, REPORTER, report
from tests.test_registration import register

ERASED = 777000123
NAME = "Евдокия Стирательная"
ORG = "Общество Забвения"
GROUP = -100777


async def register_as(h: Harness, user_id: int, name: str, org: str) -> None:
    p = h.person(user_id, first_name="Евдокия")
    await p.send("/start")
    await p.tap("Даю согласие")
    await p.send(name)
    await p.send(org)
    await p.tap("Приволжский")
    await p.tap("Самарская область")
    await p.tap("Образование")
    await p.tap("Готово")
    await p.tap("Всё верно")


async def everything(h: Harness) -> int:
    """ERASED registers, coordinates Samara, links a group, makes a broadcast, answers and
    checks in to an event, answers its questionnaire, reports a named incident, takes another
    one, writes a note and asks the reporter; leaves a dialogue half done. Returns the member id."""
    await register_as(h, ERASED, NAME, ORG)
    await make_coordinator(h, ERASED, "RU-SAM")
    await register(h, REGIONAL_2, name="Павел Второй")
    await make_coordinator(h, REGIONAL_2, "RU-SAM")
    await register(h, REPORTER, name="Ринат Заявитель")
    member = await h.storage.members.by_telegram_id(ERASED)
    assert member is not None
    await h.storage.groups.link(GROUP, "RU-SAM", "Самара НКО", member.id, h.clock())
    me = h.person(ERASED)
    # a broadcast
    await me.send("/broadcast")
    await me.tap("Готово")
    await me.send("Собрание координаторов в пятницу.")
    await me.tap("Отправить")
    await h.deliver()
    # an event: going, checked in on the day, the questionnaire answered
    event_id = await make_event(h)
    await me.send("/events")
    await me.press(f"ev:{event_id}:going")
    h.clock.now = ENDS - timedelta(hours=2, minutes=50)
    await me.send(f"/start ci_{event_id}_secret")
    assert "Вы отмечены" in me.last
    await at(h, ENDS + timedelta(minutes=1))
    await at(h, ENDS + timedelta(hours=12))  # after the night in Samara
    await answer_all(h, ERASED)
    assert "Спасибо" in me.last
    # a second event's questionnaire begun and left (a draft)
    second = await make_event(h)
    await h.storage.db.execute(
        "UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?",
        ("2026-11-24T08:00:00.000000Z", "2026-11-24T10:00:00.000000Z", second),
    )
    await me.send("/events")
    await me.press(f"ev:{second}:going")
    await at(h, ENDS + timedelta(days=1, hours=16))
    await me.tap("5 — отлично")
    draft = await h.storage.db.fetchone(
        "SELECT draft FROM evaluation_participants WHERE event_id = ? AND draft IS NOT NULL",
        (second,),
    )
    assert draft is not None
    # a report of someone else: taken, a note, a question to the reporter
    await report(h, REPORTER)
    await h.deliver()
    await me.tap("Беру в работу")
    await h.deliver()
    await me.tap("Заметка о ходе работы")
    await me.send("Позвонила в администрацию, жду ответа.")
    await me.tap("Задать вопрос заявителю")
    await me.send("Были ли свидетели?")
    await h.deliver()
    await h.person(REPORTER).tap("Ответить")
    await h.person(REPORTER).send("Да, охранник.")
    # their own named report (marked as abuse at the end: a lowered limit)
    await report(h, ERASED, description="Нам на двери общества написали угрозы ночью.")
    await h.deliver()
    # a dialogue left half done (a report's draft is in memory only; a broadcast's is a row)
    await me.send("/report")
    await me.tap("Нет")
    await me.send("/broadcast")
    own = await h.storage.db.fetchone("SELECT max(id) FROM incidents")
    assert own is not None
    other = h.person(REGIONAL_2)
    await other.send(f"/incident {own[0]}")
    await other.tap("Злоупотребление")
    await other.tap("Да, злоупотребление")
    assert await h.storage.db.fetchone(
        "SELECT 1 FROM report_penalties WHERE member_id = ?", (member.id,)
    )
    return member.id


async def member_columns(storage: Storage) -> set[tuple[str, str]]:
    """Columns that point to a member: foreign keys to members(id), and the audit log's."""
    found = {("audit_log", "member_id")}
    for table in await tables(storage):
        for fk in await storage.db.fetchall(f"PRAGMA foreign_key_list({table})"):
            if fk["table"] == "members":
                found.add((table, fk["from"]))
    return found


async def tables(storage: Storage) -> list[str]:
    rows = await storage.db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return [str(r[0]) for r in rows]


async def traces(storage: Storage, member_id: int) -> list[tuple[str, str, Any]]:
    """Every (table, column, value) of the whole database that holds the person."""
    linking = await member_columns(storage)
    # kept on purpose: the anonymous members row (region and month, for the statistics) and
    # the audit log's record that this member id's roles went and the member was erased
    allowed = {("members", "id"), ("audit_log", "member_id")}
    words = (str(ERASED), NAME, ORG, *NAME.split(), *ORG.split())
    found = []
    for table in await tables(storage):
        columns = [c["name"] for c in await storage.db.fetchall(f"PRAGMA table_info({table})")]
        for row in await storage.db.fetchall(f"SELECT * FROM {table}"):
            for column in columns:
                value = row[column]
                if value is None:
                    continue
                if (
                    value == ERASED
                    or value == f"report:{member_id}"  # a named reporter's count (guard_counters)
                    or (
                        isinstance(value, str | bytes)
                        and any(
                            w
                            in (
                                value
                                if isinstance(value, str)
                                else value.decode("utf-8", "replace")
                            )
                            for w in words
                        )
                    )
                    or (
                        (table, column) in linking
                        and (table, column) not in allowed
                        and value == member_id
                    )
                ):
                    found.append((table, column, value))
    return found


async def test_erasure_leaves_the_person_nowhere_in_the_database(harness: Harness) -> None:
    member_id = await everything(harness)
    before = await traces(harness.storage, member_id)
    seen = {(t, c) for t, c, _ in before}
    # the search finds them in every kind of place before the erasure
    for place in (
        ("members", "telegram_id"),
        ("rsvps", "member_id"),
        ("evaluation_responses", "member_id"),
        ("incidents", "reporter_member_id"),
        ("incident_timeline", "actor"),
        ("incident_questions", "asked_by"),
        ("broadcasts", "created_by"),
        ("region_groups", "linked_by"),
        ("dialogs", "telegram_id"),
        ("evaluation_participants", "member_id"),
        ("outbox", "chat_id"),
        ("report_penalties", "member_id"),
        ("guard_counters", "name"),
    ):
        assert place in seen, place
    me = harness.person(ERASED)
    await me.send("/forget")
    await me.tap("Да, удалить")
    assert "удалены" in me.last or "удален" in me.last.lower()
    await harness.deliver()
    await harness.run_jobs()
    await harness.deliver()
    assert await traces(harness.storage, member_id) == []
    # what stays is anonymous: the counts of the evaluation and the reports themselves
    responses = await harness.storage.db.fetchall("SELECT member_id FROM evaluation_responses")
    assert [r[0] for r in responses] == [None]
    assert len(await harness.storage.db.fetchall("SELECT id FROM incidents")) == 2
