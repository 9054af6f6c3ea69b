"""Incident reports: the dialogue, routing, the escalation ladder, cards, permissions, /status."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from bot.incidents.digest import queue_digests
from bot.incidents.report import normalise_code
from tests.conftest import ADMIN_ID, Harness
from tests.test_admin import make_coordinator
from tests.test_events import join
from tests.test_registration import register

DESCRIPTION = "У входа в центр национальных культур разбили окна и оставили надпись с угрозами."
PHOTO = {"photo": [{"file_id": "photo-1", "file_unique_id": "u-p1", "width": 9, "height": 9}]}
DOCUMENT = {"document": {"file_id": "doc-1", "file_unique_id": "u-d1", "file_name": "akt.pdf"}}
VOICE = {"voice": {"file_id": "voice-1", "file_unique_id": "u-v1", "duration": 4}}
LOCATION = {"location": {"latitude": 53.195, "longitude": 50.101}}

REGIONAL, REGIONAL_2, FEDERAL, REPORTER = 2001, 2003, 2002, 2101


async def report(
    h: Harness,
    user_id: int,
    *,
    danger: bool = False,
    anonymous: bool = False,
    urgency: str = "В ближайшие дни",
    category: str = "Угрозы",
    files: tuple[dict[str, Any], ...] = (),
    description: str = DESCRIPTION,
) -> str:
    """The whole /report dialogue; returns the receipt code."""
    p = h.person(user_id)
    if danger:  # the fast path (#13): the region and what is happening, sent at once
        await p.send("/report")
        await p.tap("Да, опасность")
        await p.tap("📍")
        if anonymous:
            await p.tap("Анонимно")
        await p.send(description)
        for text in reversed(p.texts):
            if "Обращение отправлено сразу" in text:
                found = re.search(r"Код обращения: <code>([A-Z0-9-]+)</code>", text)
                assert found, text
                return found[1]
        raise AssertionError(p.screen())
    await until_sender(
        h, user_id, urgency=urgency, category=category, files=files, description=description
    )
    await p.tap("Анонимно" if anonymous else "От своего имени")
    assert "Проверьте обращение" in p.last
    await p.tap("Отправить")
    found = re.search(r"Код обращения: <code>([A-Z0-9-]+)</code>", p.last) or re.search(
        r"Код обращения: ([A-Z0-9-]+)", p.last
    )
    assert found, p.last
    return found[1]


async def until_sender(
    h: Harness,
    user_id: int,
    *,
    urgency: str = "В ближайшие дни",
    category: str = "Угрозы",
    files: tuple[dict[str, Any], ...] = (),
    description: str = DESCRIPTION,
) -> None:
    """/report answered up to its last question, named or anonymous (not in danger)."""
    p = h.person(user_id)
    await p.send("/report")
    await p.tap("Нет")
    await p.tap(category)
    await p.tap("📍")
    await p.send("Самара, ул. Победы, 5")
    await p.tap("Сегодня")
    await p.send(description)
    for extra in files:
        await p.send(None, **extra)
    await p.tap("Готово" if files else "Вложений нет")
    await p.tap(urgency)


async def network(h: Harness) -> None:
    """A regional coordinator of Samara, a federal coordinator and a member who reports."""
    await register(h, REGIONAL, name="Ольга Регионова")
    await make_coordinator(h, REGIONAL, "RU-SAM")
    await register(h, FEDERAL, name="Фёдор Федеральный")
    await make_coordinator(h, FEDERAL, "all")
    await register(h, REPORTER, name="Ринат Заявитель")


def cards(h: Harness, chat_id: int) -> list[str]:
    return [t for t in h.person(chat_id).texts if t.startswith("🆘")]


async def later(h: Harness, **delta: float) -> None:
    h.clock.advance(**delta)
    await h.run_jobs()
    await h.deliver()


async def test_a_named_report_reaches_the_regions_coordinators(harness: Harness) -> None:
    await network(harness)
    code = await report(harness, REPORTER)
    assert normalise_code(code) == code
    await harness.deliver()
    card = cards(harness, REGIONAL)[-1]
    assert "Угрозы" in card and "разбили окна" in card and "ул. Победы" in card
    assert "участник сети" in card and "Ринат" not in card  # the reporter's account is not shown
    assert "✋ Беру в работу" in harness.person(REGIONAL).buttons()
    assert cards(harness, FEDERAL) == []  # the next level waits for its turn
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None and incident.state == "new" and incident.level == 1
    member = await harness.storage.members.by_telegram_id(REPORTER)
    assert member is not None and incident.reporter_member_id == member.id
    assert incident.urgency == "normal" and incident.region_code == "RU-SAM"
    assert [e.action for e in await harness.storage.incidents.timeline(incident.id)] == [
        "reported",
        "notified",
    ]
    assert await harness.storage.dialogs.get(REPORTER) is None


async def test_an_anonymous_report_keeps_no_link_to_its_reporter(harness: Harness) -> None:
    await network(harness)
    code = await report(harness, REPORTER, anonymous=True)
    assert "Сохраните код" in harness.person(REPORTER).last
    await harness.deliver()
    assert "анонимно" in cards(harness, REGIONAL)[-1]
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None and incident.anonymous and incident.reporter_member_id is None
    member = await harness.storage.members.by_telegram_id(REPORTER)
    assert member is not None
    for table in ("incidents", "incident_timeline", "incident_steps", "incident_attachments"):
        for row in await harness.storage.db.fetchall(f"SELECT * FROM {table}"):
            assert REPORTER not in tuple(row) and member.id not in (
                row["reporter_member_id"] if table == "incidents" else None,
            )
    outbox = await harness.storage.db.fetchall("SELECT chat_id FROM outbox")
    assert REPORTER not in [r[0] for r in outbox]  # the receipt is a direct reply, not queued


async def test_danger_shows_112_at_once_and_makes_it_critical(harness: Harness) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await p.send("/report")
    await p.tap("Да, опасность")
    assert any("звоните 112" in t for t in p.texts)
    await p.tap("📍")  # the fast path (#13): no category, place, day or urgency before sending
    await p.send(None, **LOCATION)
    assert "Обращение отправлено сразу" in p.texts[-2]
    await harness.deliver()
    card = cards(harness, REGIONAL)[-1]
    assert "угрожает опасность" in card and "Геопозиция" in card
    assert "Отложить" not in " ".join(harness.person(REGIONAL).buttons())
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.urgency == "critical" and incident.danger
    assert incident.latitude == 53.195


async def test_wrong_input_at_every_step_and_cancel_store_nothing(harness: Harness) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await p.send("/report")
    await p.send("может быть")
    assert "кнопк" in p.last  # a hint, and the same question again
    await p.tap("Нет")
    await p.tap("Угрозы")
    await p.send("xyzzy qwerty")
    assert "Не нашёл регион" in p.last
    await p.send("Казань")
    await p.send("x" * 400)
    assert "не больше 300" in p.last
    await p.send("Казань, рынок")
    await p.send("31.02")
    assert "Не понял дату" in p.last
    await p.send("12.11")
    await p.send("Плохо")
    assert "подробнее" in p.last
    await p.send("y" * 3100)
    assert "до 3000 символов" in p.last
    await p.send(DESCRIPTION)
    await p.send("а фото нет")
    assert "Здесь нужен текст" in p.last or "кнопк" in p.last
    await p.tap("Назад")
    assert "Опишите, что произошло" in p.last
    await p.tap("Отмена")
    assert "ничего не сохранено" in p.last
    assert tuple(await harness.storage.db.fetchone("SELECT COUNT(*) FROM incidents") or ()) == (0,)
    assert await harness.storage.dialogs.get(REPORTER) is None


async def test_attachments_and_a_voice_description_reach_the_coordinators(harness: Harness) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await p.send("/report")
    await p.tap("Нет")
    await p.tap("Вандализм")
    await p.tap("📍")
    await p.tap("Пропустить")
    await p.tap("Вчера")
    await p.send(None, **VOICE)  # the description as a voice message
    await p.send(None, **PHOTO)
    await p.send(None, **DOCUMENT)
    assert "Получено 3 вложения" in p.last
    await p.tap("Готово")
    await p.tap("Для сведения")
    await p.tap("От своего имени")
    assert "голосовое сообщение" in p.last
    await p.tap("Отправить")
    await harness.deliver()
    for method in ("sendVoice", "sendPhoto", "sendDocument"):
        assert len(harness.telegram.sent(method, chat_id=REGIONAL)) == 1, method
    assert "Вложений: 3" in cards(harness, REGIONAL)[-1]
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.happened_on.isoformat() == "2026-11-21"


async def test_the_first_to_take_it_is_shown_on_every_card(harness: Harness) -> None:
    await network(harness)
    await register(harness, REGIONAL_2, name="Пётр Второй")
    await make_coordinator(harness, REGIONAL_2, "RU-SAM")
    code = await report(harness, REPORTER)
    await harness.deliver()
    await harness.person(REGIONAL).tap("Беру в работу")
    await harness.deliver()
    for chat_id in (REGIONAL, REGIONAL_2):
        assert "В работе: Ольга Регионова" in cards(harness, chat_id)[-1]
    second = harness.person(REGIONAL_2)
    await second.press("inc:1:ack", message_id=second.last_message_with_buttons()["message_id"])
    assert "уже взял в работу: Ольга Регионова" in second.alerts()[-1]
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None and incident.assignee_telegram_id == REGIONAL
    assert f"обращение {code} взято в работу" in harness.person(REPORTER).last


async def test_the_ladder_for_a_normal_report(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER)
    await harness.deliver()
    await later(harness, minutes=119)
    assert not any("ждёт ответа" in t for t in harness.person(REGIONAL).texts)
    await later(harness, minutes=1)  # 2 hours: the region's coordinators are reminded
    reminder = harness.telegram.sent("sendMessage", chat_id=REGIONAL)[-1]
    assert "ждёт ответа уже 2 ч." in reminder.params["text"]  # #13: hours, not "120 мин"
    assert reminder.params.get("reply_parameters")  # as a reply to the card
    assert cards(harness, FEDERAL) == []
    await later(harness, minutes=120)  # 4 hours: federal coordinators
    assert len(cards(harness, FEDERAL)) == 1
    assert cards(harness, ADMIN_ID) == []
    await later(harness, minutes=240)  # 4 more: admins
    assert len(cards(harness, ADMIN_ID)) == 1
    await harness.person(ADMIN_ID).tap("Беру в работу")
    await harness.deliver()
    for chat_id in (REGIONAL, FEDERAL, ADMIN_ID):
        assert "В работе" in cards(harness, chat_id)[-1], chat_id
    steps = await harness.storage.db.fetchall(
        "SELECT kind FROM incident_steps WHERE status = 'pending'"
    )
    assert [s[0] for s in steps] == ["stale"]
    actions = [e.action for e in await harness.storage.incidents.timeline(1)]
    assert actions.count("notified") == 3 and "acknowledged" in actions


async def test_a_critical_report_escalates_in_minutes(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER, danger=True)
    await harness.deliver()
    await later(harness, minutes=5)
    assert any("ждёт ответа" in t for t in harness.person(REGIONAL).texts)
    await later(harness, minutes=5)
    assert len(cards(harness, FEDERAL)) == 1


async def test_a_low_report_stays_with_the_region(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER, urgency="Для сведения")
    await harness.deliver()
    await later(harness, days=3)
    assert cards(harness, FEDERAL) == [] and cards(harness, ADMIN_ID) == []
    assert any("ждёт ответа" in t for t in harness.person(REGIONAL).texts)


async def test_quiet_hours_in_irkutsk_and_kaliningrad(harness: Harness) -> None:
    irkutsk, kaliningrad = 2011, 2012
    await join(harness, irkutsk, "Сибирский", "Иркутская область", "Образование")
    await make_coordinator(harness, irkutsk, "RU-SAM")
    await join(harness, kaliningrad, "Северо-Западный", "Калининградская область", "Образование")
    await make_coordinator(harness, kaliningrad, "RU-SAM")
    await register(harness, REPORTER)
    harness.clock.now = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # 23:30 Irkutsk, 17:30 there
    await report(harness, REPORTER)  # normal: waits for the morning in quiet hours
    await report(harness, REPORTER, urgency="Нужна реакция сегодня")  # high does not wait
    await harness.deliver()
    assert len(cards(harness, kaliningrad)) == 2
    assert [c.split("·")[0] for c in cards(harness, irkutsk)] == ["🆘 <b>Обращение №2</b> "]
    await later(harness, hours=8, minutes=29)  # 23:59 UTC = 07:59 in Irkutsk
    assert len(cards(harness, irkutsk)) == 1
    await later(harness, minutes=1)  # 08:00 in Irkutsk
    assert len(cards(harness, irkutsk)) == 2


async def test_snooze_holds_reminders_and_escalation(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER, urgency="Нужна реакция сегодня")
    await harness.deliver()
    await harness.person(REGIONAL).tap("Отложить на 1 ч")
    assert "Отложено до" in harness.person(REGIONAL).alerts()[-1]
    await later(harness, minutes=59)
    assert not any("ждёт ответа" in t for t in harness.person(REGIONAL).texts)
    await later(harness, minutes=1)
    assert any("ждёт ответа" in t for t in harness.person(REGIONAL).texts)
    await later(harness, minutes=59)
    assert cards(harness, FEDERAL) == []
    await later(harness, minutes=1)  # an hour after the snooze ended
    assert len(cards(harness, FEDERAL)) == 1


async def test_a_taken_report_without_progress_goes_back_and_up(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER, urgency="Нужна реакция сегодня")  # stale after 12 h
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.tap("Беру в работу")
    await harness.deliver()
    await later(harness, hours=6)
    await regional.tap("Заметка о ходе работы")
    await regional.send("Связались с администрацией центра")
    assert "Заметка к обращению №1 сохранена" in regional.last
    await later(harness, hours=11, minutes=59)  # 12 h after the note is not yet over
    assert not any("нет отметок" in t for t in regional.texts)
    await later(harness, minutes=1)
    assert any("нет отметок" in t for t in regional.texts)
    await later(harness, minutes=30)  # one reminder interval later: free again, passed up
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.state == "new" and incident.level == 2
    assert incident.assignee_telegram_id is None
    assert len(cards(harness, FEDERAL)) == 1
    assert "✋ Беру в работу" in regional.buttons()  # their card is open again


async def test_nobody_in_the_region_goes_up_at_once_and_admins_are_told(harness: Harness) -> None:
    await register(harness, FEDERAL)
    await make_coordinator(harness, FEDERAL, "all")
    await register(harness, REPORTER)
    await report(harness, REPORTER)
    await harness.deliver()
    assert len(cards(harness, FEDERAL)) == 1
    assert any("никого нет" in t and "Самарская" in t for t in harness.person(ADMIN_ID).texts)
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.level == 2


async def test_a_coordinator_who_blocked_the_bot_is_skipped(harness: Harness) -> None:
    await network(harness)
    harness.telegram.fail("sendMessage", chat_id=REGIONAL)  # they blocked the bot
    await report(harness, REPORTER, danger=True)
    await harness.deliver()
    await later(harness, minutes=5)  # the next reminder finds nobody reachable: up at once
    assert len(cards(harness, FEDERAL)) == 1
    assert any("никто недоступен (Ольга Регионова:" in t for t in harness.person(ADMIN_ID).texts)


async def test_a_card_that_bounces_sends_the_report_up_without_waiting(harness: Harness) -> None:
    await network(harness)
    harness.telegram.fail("sendMessage", chat_id=REGIONAL)  # blocked: known only on sending
    await report(harness, REPORTER, urgency="Для сведения")
    await harness.deliver()
    assert cards(harness, FEDERAL) == []
    await later(harness, seconds=30)  # the next sweep, not the next reminder hours later
    assert len(cards(harness, FEDERAL)) == 1


async def test_overdue_steps_fire_once_after_an_outage(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER)
    await harness.deliver()
    harness.clock.advance(days=2)  # the bot was down for two days
    for _ in range(3):  # several sweeps after the start
        await harness.run_jobs()
        await harness.deliver()
    assert len(cards(harness, FEDERAL)) == 1
    assert len(cards(harness, ADMIN_ID)) == 1
    reminders = [t for t in harness.person(REGIONAL).texts if "ждёт ответа" in t]
    assert len(reminders) == 1
    done = await harness.storage.db.fetchall(
        "SELECT kind, COUNT(*) FROM incident_steps WHERE status = 'done' GROUP BY kind"
    )
    assert {r[0]: r[1] for r in done} == {"remind": 1, "escalate": 2}


async def test_after_an_outage_a_summary_comes_first_then_the_most_urgent_cards(
    harness: Harness,
) -> None:
    await network(harness)
    for urgency in ("В ближайшие дни", "Нужна реакция сегодня") * 2:  # reports 1-4
        await report(harness, REPORTER, urgency=urgency)
    await harness.deliver()
    seen = {who: len(harness.person(who).texts) for who in (REGIONAL, FEDERAL, ADMIN_ID)}
    assert not any(t.startswith("⏰") for t in harness.person(REGIONAL).texts)  # no outage yet
    harness.clock.advance(days=2)  # the bot was down for two days
    await harness.run_jobs()
    await harness.deliver()
    for who in (FEDERAL, ADMIN_ID):  # each told of four reports, then their four cards
        new = harness.person(who).texts[seen[who] :]
        assert new[0].startswith("⏰ Пока бот не работал, до вас дошли 4 обращения"), new[0]
        assert re.findall(r"№(\d+)", new[0]) == ["2", "4", "1", "3"]  # the most urgent first
        assert [re.findall(r"№(\d+)", card)[0] for card in new[1:]] == ["2", "4", "1", "3"]
        assert all(card.startswith("🆘") for card in new[1:])
    regional = harness.person(REGIONAL).texts[seen[REGIONAL] :]
    assert regional[0].startswith("⏰") and len(regional) == 5  # the summary and 4 reminders
    federal = harness.person(FEDERAL)
    before = len(federal.texts)
    await federal.tap("Открыть №3")  # the summary's button opens that report's card
    card, history = federal.texts[before:]
    assert card.startswith("🆘") and "№3" in card and "История обращения №3" in history
    before = len(federal.texts)
    await later(harness, seconds=30)  # the next sweep is not catching up: no second summary
    assert not any(t.startswith("⏰") for t in federal.texts[before:])
    stranger = harness.person(REPORTER)  # the button checks who presses it
    await stranger.press("incl:card:3", message_id=999)
    assert not any(t.startswith("🆘") for t in stranger.texts)


async def test_resolving_tells_the_reporter_and_closes_every_card(harness: Harness) -> None:
    await network(harness)
    code = await report(harness, REPORTER)
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.tap("Решено")
    await regional.send("ок")
    assert "от 3 до" in regional.last
    await regional.send("Окна застеклили, полиция приняла заявление")
    await harness.deliver()
    assert f"{code} отмечено как решённое" in harness.person(REPORTER).last
    assert "Решено (Ольга Регионова)" in cards(harness, REGIONAL)[-1]
    await regional.press("inc:1:resolve", message_id=1)
    assert "уже закрыто" in regional.alerts()[-1]
    await regional.press("inc:1:ack", message_id=1)
    assert "уже решено" in regional.alerts()[-1]
    assert tuple(
        await harness.storage.db.fetchone(
            "SELECT COUNT(*) FROM incident_steps WHERE status = 'pending'"
        )
        or ()
    ) == (0,)


async def test_permissions_on_every_command_and_button(harness: Harness) -> None:
    await network(harness)
    await register(harness, 2004)
    await join(harness, 2005, "Сибирский", "Иркутская область", "Образование")
    await make_coordinator(harness, 2005, "RU-IRK")
    await report(harness, REPORTER)
    await harness.deliver()
    before = await harness.storage.db.fetchall("SELECT * FROM incidents")
    stranger, member, other = harness.person(4242), harness.person(2004), harness.person(2005)
    for person in (stranger, member):
        await person.send("/incidents")
        assert "только координаторам" in person.last
        await person.send("/incident 1")
        assert "только координаторам" in person.last
    await other.send("/incident 1")
    assert "другого региона" in other.last
    for data in ("inc:1:ack", "inc:1:up", "inc:1:resolve", "inc:1:snooze:hour", "inc:1:ask"):
        await other.press(data, message_id=1)
        assert "другого региона" in other.alerts()[-1]
        await member.press(data, message_id=1)
        assert "только координаторам" in member.alerts()[-1]
    for data in (
        "inc:999:ack",
        "inc:x:ack",
        "inc:1:explode",
        "incl:open::x",
        "ist:ZZ-ZZZZ:withdraw",
    ):
        await harness.person(REGIONAL).press(data, message_id=1)
    alerts = harness.person(REGIONAL).alerts()[-5:]
    assert "не найдено" in alerts[0] and all(a for a in alerts)
    assert await harness.storage.db.fetchall("SELECT * FROM incidents") == before


async def test_listing_open_incidents_by_state_and_region(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER, category="Угрозы")
    await report(harness, REPORTER, category="Вандализм", urgency="Нужна реакция сегодня")
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.send("/incidents")
    listing = regional.last
    assert "№2" in listing and "№1" in listing
    assert listing.index("№2") < listing.index("№1")  # the more urgent first
    await harness.person(REGIONAL).press("inc:2:ack", message_id=1)
    await regional.send("/incidents")
    await regional.tap("В работе")
    assert "№2" in regional.last and "№1" not in regional.last
    await regional.send("/incidents new Самарская")
    assert "№1" in regional.last and "№2" not in regional.last
    await regional.send("/incidents Иркутская")
    assert "другого региона" in regional.last
    await regional.send("/incident 2")
    history = regional.texts[-1]
    assert "История обращения №2" in history and "Ольга Регионова взял(а) в работу" in history


async def test_questions_are_relayed_both_ways_without_accounts(harness: Harness) -> None:
    await network(harness)
    code = await report(harness, REPORTER)
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.tap("Задать вопрос заявителю")
    await regional.send("Были ли свидетели? Есть ли видео?")
    assert "передан заявителю" in regional.last
    await harness.deliver()
    reporter = harness.person(REPORTER)
    assert "Были ли свидетели" in reporter.last and "Ольга" not in reporter.last
    await reporter.tap("Ответить")
    await reporter.send("Да, охранник видел всё")
    assert "ответ передан" in reporter.last
    await harness.deliver()
    assert "охранник видел всё" in regional.last and "Ринат" not in regional.last
    await reporter.press(f"ist:{code}:reply:1", message_id=1)
    assert "уже есть ответ" in reporter.alerts()[-1]


async def test_an_anonymous_reporter_answers_and_adds_details_in_status(harness: Harness) -> None:
    await network(harness)
    code = await report(harness, REPORTER, anonymous=True)
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.tap("Задать вопрос заявителю")
    await regional.send("Где именно были надписи?")
    assert "Заявитель анонимен" in regional.last
    reporter = harness.person(REPORTER)
    await reporter.send(f"/status {code.lower().replace('-', ' ')}")
    assert "Где именно были надписи?" in reporter.last and "ждёт координатора" in reporter.last
    await reporter.tap("Ответить")
    await reporter.send("На двери и на стене слева")
    await harness.deliver()
    assert "На двери и на стене слева" in regional.last
    await reporter.send(f"/status {code}")
    await reporter.tap("Добавить подробности")
    await reporter.send(None, **PHOTO)
    assert "переданы координаторам" in reporter.last
    await harness.deliver()
    assert harness.telegram.sent("sendPhoto", chat_id=REGIONAL)
    outbox = await harness.storage.db.fetchall("SELECT chat_id FROM outbox")
    assert REPORTER not in [r[0] for r in outbox]


async def test_status_with_a_wrong_code_and_withdrawing(harness: Harness) -> None:
    await network(harness)
    code = await report(harness, REPORTER)
    await harness.deliver()
    reporter = harness.person(REPORTER)
    await reporter.send("/status AB-CDEF")
    assert "Не нашёл обращение" in reporter.last
    await reporter.send("/status")
    await reporter.tap(code)
    await reporter.tap("Отозвать обращение")
    await reporter.tap("Да, отозвать")
    assert f"Обращение {code} отозвано" in reporter.last
    await harness.deliver()
    assert "Заявитель отозвал" in cards(harness, REGIONAL)[-1]
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None and incident.state == "withdrawn"
    stranger = harness.person(4343)
    for _ in range(10):
        await stranger.send("/status QQ-QQQQ")
    await stranger.send(f"/status {code}")
    assert "Слишком много неверных кодов" in stranger.last  # guessing codes is stopped


async def test_at_most_five_reports_an_hour(harness: Harness) -> None:
    await network(harness)
    for _ in range(5):
        await report(harness, REPORTER)
    await harness.person(REPORTER).send("/report")
    assert "это предел" in harness.person(REPORTER).last
    assert tuple(await harness.storage.db.fetchone("SELECT COUNT(*) FROM incidents") or ()) == (5,)
    harness.clock.advance(hours=1)
    await report(harness, REPORTER)


async def restarted(h: Harness) -> None:
    """A new application on a new connection to the same database (the process restarted)."""
    from bot.runtime.app import build_application
    from storage.db import Storage
    from tests.fake_telegram import FakeRequest

    settings = h.app.bot_data.settings
    assert settings is not None
    await h.app.shutdown()
    await h.storage.close()
    h.storage = await Storage.open(settings.database_path)
    app = build_application(
        settings,
        storage=h.storage,
        request=FakeRequest(h.telegram),
        clock=h.clock,
        start_delivery=False,
    )
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    h.app = app


async def test_a_report_draft_is_kept_in_memory_only(harness: Harness) -> None:
    """What a person types into /report is never written with their id (the report may become
    anonymous at its end): a restart forgets the draft, and the person is told to start again."""
    await network(harness)
    p = harness.person(REPORTER)
    await p.send("/report")
    await p.tap("Нет")
    await p.tap("Угрозы")
    await p.tap("📍")
    await p.send("Тольятти, ул. Тайная, 13")
    dialog = await harness.storage.dialogs.get(REPORTER)
    assert dialog is not None and dialog.step == "day"
    rows = await harness.storage.db.fetchall("SELECT * FROM dialogs")
    assert rows == []
    assert REPORTER not in [
        r[0] for r in await harness.storage.db.fetchall("SELECT chat_id FROM outbox")
    ]
    await restarted(harness)
    await p.tap("Сегодня")
    assert "черновики обращений бот хранит только в памяти" in p.alerts()[-1]
    assert await harness.storage.dialogs.get(REPORTER) is None
    await harness.app.shutdown()
    await harness.storage.close()


async def test_a_reporter_idle_in_status_is_told_directly_not_through_the_outbox(
    harness: Harness,
) -> None:
    await network(harness)
    code = await report(harness, REPORTER, anonymous=True)
    await harness.deliver()
    reporter = harness.person(REPORTER)
    await reporter.send(f"/status {code}")
    await reporter.tap("Добавить подробности")
    assert await harness.storage.db.fetchall("SELECT * FROM dialogs") == []
    await later(harness, minutes=harness.app.bot_data.settings.dialog_timeout_minutes + 1)  # type: ignore[union-attr]
    assert "ввод закрыт" in reporter.last
    assert await harness.storage.dialogs.get(REPORTER) is None
    outbox = await harness.storage.db.fetchall("SELECT chat_id FROM outbox")
    assert REPORTER not in [r[0] for r in outbox]


def test_receipt_codes_are_read_generously() -> None:
    assert normalise_code("k7 42qx") == "K7-42QX"
    assert normalise_code("К7-42QХ") == "K7-42QX"  # Cyrillic К and Х
    assert normalise_code("K742QX") == "K7-42QX"
    assert normalise_code("hello") is None


async def test_a_morning_digest_at_nine_in_each_coordinators_time(harness: Harness) -> None:
    await network(harness)
    await join(harness, 2005, "Сибирский", "Иркутская область", "Образование")
    await make_coordinator(harness, 2005, "RU-IRK")
    await report(harness, REPORTER, urgency="Для сведения")
    await harness.deliver()

    def digests(chat_id: int) -> list[str]:
        return [t for t in harness.person(chat_id).texts if "Открытые обращения на утро" in t]

    harness.clock.now = datetime(2026, 11, 23, 4, 59, tzinfo=UTC)  # 08:59 in Samara
    await later(harness)
    assert digests(REGIONAL) == []
    harness.clock.now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 09:00 in Samara
    await later(harness)
    assert len(digests(REGIONAL)) == 1 and "№1" in digests(REGIONAL)[0]
    assert len(digests(FEDERAL)) == 1
    assert digests(ADMIN_ID) == []  # 08:00 in Moscow
    assert digests(2005) == []  # nothing open in Irkutsk
    harness.clock.now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    await later(harness)
    await later(harness, minutes=30)
    assert len(digests(ADMIN_ID)) == 1
    assert len(digests(REGIONAL)) == 1  # once a day
    harness.clock.now = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
    await later(harness)
    assert len(digests(REGIONAL)) == 2


async def test_no_digest_with_digest_hour_off(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER, urgency="Для сведения")
    await harness.deliver()
    settings = harness.app.bot_data.settings.model_copy(update={"digest_hour": None})
    nine_in_samara = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    regions = harness.app.bot_data.regions
    assert await queue_digests(harness.storage, settings, regions, nine_in_samara) == 0
    assert (
        await queue_digests(harness.storage, harness.app.bot_data.settings, regions, nine_in_samara)
        == 2
    )


async def test_exports_full_for_admins_without_free_text_for_coordinators(
    harness: Harness,
) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    await network(harness)
    codes = [
        await report(harness, REPORTER),
        await report(
            harness, REPORTER, anonymous=True, description="=HYPERLINK(1) окна разбиты снова"
        ),
    ]
    await harness.deliver()

    async def export(chat_id: int, args: str = "") -> tuple[list[tuple[Any, ...]], list[list[str]]]:
        before = len(harness.telegram.sent("sendDocument", chat_id=chat_id))
        await harness.person(chat_id).send(f"/export_incidents {args}".strip())
        calls = harness.telegram.sent("sendDocument", chat_id=chat_id)[before:]
        assert calls[0].files["document"][0].endswith(".xlsx")
        sheet = load_workbook(io.BytesIO(calls[0].files["document"][1])).active
        assert sheet is not None
        table = list(sheet.iter_rows(values_only=True))
        text = calls[1].files["document"][1].decode("utf-8-sig")
        return table, list(csv.reader(io.StringIO(text)))

    table, rows = await export(ADMIN_ID)
    assert "Описание" in table[0] and "Заявитель" in table[0]
    assert len(table) == 3 and len(rows) == 3
    named, anonymous = table[1], table[2]
    assert "Ринат Заявитель" in named and "разбили окна" in " ".join(map(str, named))
    assert "Ринат Заявитель" not in anonymous  # anonymous: no reporter data
    # receipt codes are the reporters' keys to /status: in no export
    assert not any(code in str(v) for code in codes for row in table for v in row)
    assert "'=HYPERLINK(1) окна разбиты снова" in anonymous  # never a formula
    table, rows = await export(REGIONAL)
    assert "Описание" not in table[0] and "Заявитель" not in table[0]
    assert not any("разбили окна" in str(v) for row in table for v in row)
    assert not any("Ринат" in v for row in rows for v in row)
    await harness.person(REGIONAL).send("/export_incidents 31.02.2026")
    assert "Не понял период" in harness.person(REGIONAL).last
    await harness.person(REGIONAL).send("/export_incidents 01.01.2020 31.01.2020")
    assert "обращений нет" in harness.person(REGIONAL).last
    await harness.person(REPORTER).send("/export_incidents")
    assert "только координаторам" in harness.person(REPORTER).last


async def test_erasure_unlinks_reporters_and_coordinators_but_keeps_the_report(
    harness: Harness,
) -> None:
    await network(harness)
    code = await report(harness, REPORTER)
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.tap("Беру в работу")
    await regional.tap("Задать вопрос заявителю")
    await regional.send("Были ли свидетели?")
    await harness.deliver()
    reporter = harness.person(REPORTER)
    await reporter.send("/mydata")
    call = harness.telegram.sent("sendDocument", chat_id=REPORTER)[-1]
    mine = json.loads(call.files["document"][1])["incident_reports"]
    assert [(r["code"], r["state"]) for r in mine] == [(code, "acknowledged")]
    # the coordinator erases their data: the report forgets who took it and who asked
    await regional.send("/forget")
    await regional.tap("Да, удалить")
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None
    assert incident.assignee_telegram_id is None and incident.assignee_name is None
    await harness.deliver()  # the stub over their card, then nothing kept of it
    assert cards(harness, REGIONAL) == [] and "Обращение больше недоступно." in regional.texts
    assert not await harness.storage.db.fetchall(
        "SELECT * FROM outbox WHERE chat_id = ?", (REGIONAL,)
    )  # the cards and messages they were sent are gone too
    # the reporter's answer still reaches someone who can act: the federal coordinator
    await reporter.tap("Ответить")
    await reporter.send("Да, охранник видел всё")
    await harness.deliver()
    assert "охранник видел всё" in harness.person(FEDERAL).last
    # the reporter erases their data: the report stays, anonymous from now on
    await reporter.send("/forget")
    await reporter.tap("Да, удалить")
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None and incident.anonymous and incident.reporter_member_id is None
    for table in ("incidents", "incident_timeline", "incident_questions"):
        for row in await harness.storage.db.fetchall(f"SELECT * FROM {table}"):
            assert REGIONAL not in tuple(row) and REPORTER not in tuple(row), (table, dict(row))
            assert "Ольга" not in str(tuple(row)), (table, dict(row))


async def test_forged_numbers_get_a_clear_answer(harness: Harness) -> None:
    await network(harness)
    await report(harness, REPORTER)
    regional = harness.person(REGIONAL)
    errors = len(harness.telegram.sent("sendMessage", chat_id=ADMIN_ID))
    for data in ("inc:²:ack", "inc:99999999999999999999:ack", "incl:card:٣", "inc:-1:ack"):
        await regional.press(data, message_id=1)
        assert "не действует" in regional.alerts()[-1], data
    for command in ("/incident ²", "/incident 99999999999999999999"):
        await regional.send(command)
        assert "Напишите номер обращения" in regional.last, command
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.state == "new"
    assert len(harness.telegram.sent("sendMessage", chat_id=ADMIN_ID)) == errors  # no error


async def test_closed_reports_lose_personal_details_after_the_retention_time(
    harness: Harness,
) -> None:
    await network(harness)
    await report(harness, REPORTER, files=(PHOTO,))
    await report(harness, REPORTER, description="Второй случай: угрозы в подъезде, есть запись.")
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.press("inc:1:resolve", message_id=1)
    await regional.send("Окна застеклили, полиция приняла заявление")
    await harness.deliver()
    await later(harness, days=364)
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and "разбили окна" in incident.description
    await later(harness, days=2)  # RETENTION_DAYS (365) after it was resolved
    purged = await harness.storage.incidents.get(1)
    assert purged is not None and purged.description == "" and purged.place is None
    assert purged.outcome is None and purged.reporter_member_id is None
    assert purged.assignee_name is None and purged.category == "threats"
    assert await harness.storage.incidents.attachments(1) == []
    for entry in await harness.storage.incidents.timeline(1):
        assert entry.actor is None and entry.detail is None
    still_open = await harness.storage.incidents.get(2)  # not closed: kept whole
    assert still_open is not None and "в подъезде" in still_open.description
    old = await harness.storage.db.fetchall(
        "SELECT * FROM outbox WHERE status = 'sent' AND due_at < ?", ("2027-11-01",)
    )
    assert old == []  # messages delivered a year ago are forgotten


async def test_a_report_that_cannot_be_saved_keeps_its_draft(harness: Harness) -> None:
    """Saving the report fails inside its transaction at "Отправить" (a fault injected into
    SQLite: the insert hits a table that is not there): the person is told, nothing is stored,
    and the draft (kept in memory only, which does not roll back) is still there, so
    "Отправить" works once the fault is gone: someone who may be in danger does not type it
    all again."""
    await network(harness)
    p = harness.person(REPORTER)
    await until_sender(harness, REPORTER)
    await p.tap("Анонимно")  # nothing on disk before the report's own transaction
    assert "Проверьте обращение" in p.last
    await harness.storage.db.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.incidents"
        " BEGIN INSERT INTO missing_table VALUES (1); END"
    )
    await p.tap("Отправить")
    assert "что-то пошло не так" in p.alerts()[-1]
    await harness.storage.db.execute("DROP TRIGGER refuse")
    assert await harness.storage.db.fetchall("SELECT id FROM incidents") == []
    await p.tap("Отправить")  # the summary becomes the receipt (above the refusal)
    assert any("Обращение принято" in text for text in p.texts), p.screen()
    assert len(await harness.storage.db.fetchall("SELECT id FROM incidents")) == 1
