"""Events: creating, announcing, answering, waitlist, reminders, calendar files, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.events.cards import when_text
from bot.events.parse import parse_when
from bot.regions import load_regions
from bot.timefmt import zone_name
from tests.conftest import ADMIN_ID, START, Harness
from tests.test_admin import make_coordinator
from tests.test_registration import register

IRKUTSK = ZoneInfo("Asia/Irkutsk")


async def join(
    h: Harness, user_id: int, district: str, region: str, topic: str, lang: str = "ru"
) -> None:
    p = h.person(user_id, language_code=lang)
    await p.send("/start")
    await p.tap("Даю согласие" if lang == "ru" else "I agree")
    await p.send(f"Участник {user_id}")
    await p.send("НКО")
    await p.tap(district)
    await p.tap(region)
    await p.tap(topic)
    await p.tap("Готово" if lang == "ru" else "Done")
    await p.tap("Всё верно" if lang == "ru" else "All correct")


async def create_event(
    h: Harness,
    coordinator: int,
    *,
    capacity: str = "Без ограничения",
    topic: str | None = "Образование",
    federal: bool = False,
) -> int:
    c = h.person(coordinator)
    await c.send("/new_event")
    await c.send("Семинар: права детей")
    await c.send("Практический семинар для руководителей НКО о защите прав детей.")
    await c.send("Адвокация\nМеждународные механизмы\nИнструменты защиты")
    await c.send("25.11 14:00")
    await c.tap("3 часа")
    await c.send("Самара, ул. Ленинградская, 1")
    if federal:
        await c.tap("Готово")  # their own region is chosen already
    if topic:
        await c.tap(topic)
    await c.tap("Готово")
    if capacity.isdigit():
        await c.send(capacity)
    else:
        await c.tap(capacity)
    assert "Анкета после мероприятия" in c.last
    await c.tap("Готово ➡️")
    assert "Так увидят объявление участники" in c.last
    await c.tap("Опубликовать")
    row = await h.storage.db.fetchone("SELECT MAX(id) FROM events")
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    ("zone", "utc_hour"),
    [
        ("Europe/Kaliningrad", 12),
        ("Europe/Moscow", 11),
        ("Asia/Irkutsk", 6),
        ("Asia/Kamchatka", 2),
        ("Asia/Almaty", 9),
    ],
)
def test_typed_dates_are_in_the_organisers_zone(zone: str, utc_hour: int) -> None:
    parsed = parse_when("25.12 14:00", ZoneInfo(zone), START)
    assert parsed.value == datetime(2026, 12, 25, utc_hour, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("31.02 10:00", "events.hint.bad_date"),
        ("завтра", "events.hint.bad_format"),
        ("22.11.2026 10:00", "events.hint.past"),
        ("25.12 25:00", "events.hint.bad_date"),
    ],
)
def test_impossible_and_past_dates_are_refused(text: str, problem: str) -> None:
    assert parse_when(text, IRKUTSK, START).problem == problem


def test_a_date_without_year_that_passed_is_next_year() -> None:
    parsed = parse_when("10.01 10:00", ZoneInfo("Europe/Moscow"), START)
    assert parsed.value is not None and parsed.value.year == 2027


def test_times_are_shown_in_the_readers_zone_with_moscow_time() -> None:
    start = datetime(2026, 12, 25, 6, 0, tzinfo=UTC)  # 14:00 in Irkutsk
    end = start + timedelta(hours=3)
    assert when_text(start, end, "ru", IRKUTSK) == (
        "25 декабря 2026, 14:00–17:00 по Иркутску (09:00–12:00 МСК)"
    )
    assert when_text(start, end, "ru", ZoneInfo("Europe/Moscow")) == (
        "25 декабря 2026, 09:00–12:00 МСК"
    )
    assert "08:00–11:00 Kaliningrad time (09:00–12:00 Moscow time)" in when_text(
        start, end, "en", ZoneInfo("Europe/Kaliningrad")
    )


async def test_a_coordinator_announces_and_the_right_members_receive_it(
    harness: Harness,
) -> None:
    await register(harness, 801)  # Самарская область, education + youth: coordinator
    await make_coordinator(harness, 801, "RU-SAM")
    await join(harness, 802, "Приволжский", "Самарская область", "Образование")
    await join(harness, 803, "Приволжский", "Самарская область", "Экология")  # other topic
    await join(harness, 804, "Сибирский", "Иркутская область", "Образование")  # other region
    await join(harness, 805, "Volga", "Samara Oblast", "Education", lang="en")
    event_id = await create_event(harness, 801)
    coordinator = harness.person(801)
    assert "опубликовано" in coordinator.texts[-2]
    assert f"start=ev_{event_id}" in coordinator.texts[-2]
    await harness.deliver()
    got = harness.person(802)
    assert "Семинар: права детей" in got.last and "14:00–17:00" in got.last
    assert "Адвокация" in got.last
    assert got.buttons()[:3] == ["Пойду", "Возможно", "Не пойду"]
    english = harness.person(805)
    assert "Going" in english.buttons() and "Moscow time" in english.last
    assert not any("Семинар" in text for text in harness.person(803).texts)
    assert not any("Семинар" in text for text in harness.person(804).texts)
    assert "доставлено 3 из 3" in coordinator.last  # 801 itself has education too


async def test_answers_capacity_and_waitlist(harness: Harness) -> None:
    await register(harness, 811)
    await make_coordinator(harness, 811, "RU-SAM")
    for user_id in (812, 813):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 811, capacity="1")
    await harness.deliver()
    first, second = harness.person(812), harness.person(813)
    await first.tap("Пойду")
    assert "ждём вас" in first.alerts()[-1]
    assert "✅ Пойду" in first.buttons()
    await first.tap("Пойду")  # a double tap changes nothing
    await second.tap("Пойду")
    assert "листе ожидания (номер 1)" in second.alerts()[-1]
    counts = await harness.storage.events.counts(event_id)
    assert (counts.going, counts.waitlist) == (1, 1)
    await first.tap("Не пойду")
    await harness.deliver()
    assert "Освободилось место" in second.last
    counts = await harness.storage.events.counts(event_id)
    assert (counts.going, counts.waitlist, counts.no) == (1, 0, 1)


async def test_forged_and_foreign_answers_change_nothing(harness: Harness) -> None:
    await register(harness, 821)
    await make_coordinator(harness, 821, "RU-SAM")
    await join(harness, 822, "Сибирский", "Иркутская область", "Образование")
    event_id = await create_event(harness, 821)
    p = harness.person(822)
    for data in (
        f"ev:{event_id}:going",
        "ev:9999:going",
        f"ev:{event_id}:hack",
        "ev:x:going",
        f"ev:{event_id}:ics",
    ):
        await p.press(data, message_id=1)
    alerts = p.alerts()
    assert "не для вашего региона" in alerts[0]
    assert "Такого мероприятия нет" in alerts[1]
    assert "кнопка уже не действует" in alerts[2] and "кнопка уже не действует" in alerts[3]
    assert "не для вашего региона" in alerts[4]
    assert await harness.storage.db.fetchall("SELECT * FROM rsvps") == []
    stranger = harness.person(823)
    await stranger.press(f"ev:{event_id}:going", message_id=1)
    assert "зарегистрируйтесь" in stranger.alerts()[-1]


async def test_reminders_a_day_and_two_hours_before(harness: Harness) -> None:
    await register(harness, 831)
    await make_coordinator(harness, 831, "RU-SAM")
    await join(harness, 832, "Приволжский", "Самарская область", "Образование")
    await join(harness, 833, "Приволжский", "Самарская область", "Образование")
    await create_event(harness, 831)  # 25.11 14:00 Samara = 10:00 UTC; now is 22.11 09:00
    await harness.deliver()
    await harness.person(832).tap("Пойду")
    await harness.person(833).tap("Не пойду")
    harness.clock.now = datetime(2026, 11, 24, 9, 59, tzinfo=UTC)
    await harness.run_jobs()
    await harness.deliver()
    assert not any("Напоминание" in t for t in harness.person(832).texts)
    harness.clock.now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    for _ in range(3):  # the sweep runs often: one reminder
        await harness.run_jobs()
        await harness.deliver()
    reminders = [t for t in harness.person(832).texts if "Напоминание" in t]
    assert len(reminders) == 1 and "14:00–17:00 по Самаре" in reminders[0]
    harness.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    await harness.run_jobs()
    await harness.deliver()
    assert len([t for t in harness.person(832).texts if "Напоминание" in t]) == 2
    assert not any("Напоминание" in t for t in harness.person(833).texts)


async def test_wrong_input_in_the_event_dialogue(harness: Harness) -> None:
    await register(harness, 841)
    await make_coordinator(harness, 841, "RU-SAM")
    c = harness.person(841)
    await c.send("/new_event")
    await c.send("ab")
    assert "от 3 до 200" in c.last
    await c.send("Тренинг")
    await c.send("коротко")
    assert "от 10 до 2500" in c.last
    await c.send("Тренинг для НКО о взаимодействии с властью.")
    await c.tap("Пропустить")
    await c.send("01.01.2020 10:00")
    assert "уже прошло" in c.last
    await c.send("31.02 10:00")
    assert "нет в календаре" in c.last
    await c.send("послезавтра")
    assert "Не понял дату" in c.last
    await c.send("26.11 10:00")
    await c.send("09:00")
    assert "Окончание должно быть позже начала" in c.last
    await c.send("16:00")
    await c.send("https://meet.example.org/ngo")
    await c.tap("Готово")
    await c.send("сорок")
    assert "цифрами" in c.last
    await c.send("40")
    await c.send("анонимно")  # the questionnaire is chosen with buttons
    assert "кнопк" in c.texts[-2] or "кнопк" in c.last
    await c.tap("Готово ➡️")
    assert "Онлайн: https://meet.example.org/ngo" in c.last
    assert "10:00–16:00" in c.last
    await c.tap("Изменить")
    await c.tap("Название")
    await c.send("Тренинг: НКО и власть")
    assert "Тренинг: НКО и власть" in c.last and "Так увидят" in c.last
    await c.tap("Отмена")
    assert "ничего не опубликовано" in c.last, c.alerts()
    assert await harness.storage.db.fetchall("SELECT * FROM events") == []


async def test_members_cannot_create_events(harness: Harness) -> None:
    await register(harness, 851)
    p = harness.person(851)
    await p.send("/new_event")
    assert "только координаторам" in p.last
    await p.press("evt:publish", message_id=1)
    assert await harness.storage.db.fetchall("SELECT * FROM events") == []


async def test_a_regional_coordinator_cannot_target_other_regions(harness: Harness) -> None:
    await register(harness, 861)
    await make_coordinator(harness, 861, "RU-SAM")
    await make_coordinator(harness, 861, "RU-ULY")
    c = harness.person(861)
    await c.send("/new_event")
    await c.send("Конференция")
    await c.send("Межрегиональная конференция о межнациональных отношениях.")
    await c.tap("Пропустить")
    await c.send("27.11 11:00")
    await c.tap("2 часа")
    await c.send("Ульяновск")
    assert "Ульяновская область" in c.buttons()[1] or "Ульяновская область" in str(c.buttons())
    await c.press("evt:reg:RU-MOW")
    assert "кнопка уже не действует" in c.alerts()[-1]
    await c.press("evt:all")
    assert "кнопка уже не действует" in c.alerts()[-1]
    await c.tap("Ульяновская область")
    await c.tap("Готово")
    await c.tap("Готово")
    await c.tap("Без ограничения")
    await c.tap("Готово ➡️")
    await c.tap("Опубликовать")
    event = await harness.storage.events.get(1)
    assert event is not None and event.regions == ("RU-SAM", "RU-ULY")


async def test_federal_coordinator_announces_to_districts(harness: Harness) -> None:
    await register(harness, 871)
    await make_coordinator(harness, 871, "all")
    await join(harness, 872, "Сибирский", "Иркутская область", "Экология")
    c = harness.person(871)
    await c.send("/new_event")
    await c.send("Конференция сети")
    await c.send("Ежегодная конференция сети НКО: итоги года и планы.")
    await c.tap("Пропустить")
    await c.send("10.12 10:00")
    await c.tap("2 дня")
    await c.send("Москва, Дом национальностей")
    await c.tap("Сибирский")
    await c.tap("Готово")
    await c.tap("Готово")  # no topics: everyone in the regions
    await c.tap("Без ограничения")
    await c.tap("Готово ➡️")
    assert "получат: 2" in c.last  # the Siberian member and the coordinator in Samara
    await c.tap("Опубликовать")
    await harness.deliver()
    assert "Конференция сети" in harness.person(872).last
    assert "по Иркутску" in harness.person(872).last


async def test_calendar_file_list_and_deep_link(harness: Harness) -> None:
    await register(harness, 881)
    await make_coordinator(harness, 881, "RU-SAM")
    await join(harness, 882, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 881)
    await harness.deliver()
    p = harness.person(882)
    await p.tap("Добавить в календарь")
    call = harness.telegram.sent("sendDocument", chat_id=882)[-1]
    filename, content = call.files["document"]
    assert filename == f"event-{event_id}.ics"
    assert "SUMMARY:Семинар: права детей" in content.decode()
    assert "DTSTART:20261125T100000Z" in content.decode()
    await p.send("/events")
    assert "Ближайшие мероприятия" in p.last and "Семинар: права детей" in p.last
    await p.tap("Семинар: права детей")
    assert "Пойду" in p.buttons()
    await p.send(f"/start ev_{event_id}")
    assert "Семинар: права детей" in p.last
    await p.send("/start ev_424242")
    assert "Такого мероприятия нет" in p.last


async def test_participants_list_as_xlsx_and_qr_check_in(harness: Harness) -> None:
    import io

    from openpyxl import load_workbook

    await register(harness, 891)
    await make_coordinator(harness, 891, "RU-SAM")
    await join(harness, 892, "Приволжский", "Самарская область", "Образование")
    await join(harness, 893, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 891)
    await harness.deliver()
    await harness.person(892).tap("Пойду")
    await harness.person(893).tap("Возможно")
    c = harness.person(891)
    await c.send(f"/event {event_id}")
    assert "Пойдут: 1 · Возможно: 1" in c.last
    await c.tap("Список участников")
    call = harness.telegram.sent("sendDocument", chat_id=891)[-1]
    book = load_workbook(io.BytesIO(call.files["document"][1]))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("Имя", "Организация", "Регион", "Ответ")
    assert [(r[0], r[3]) for r in rows[1:]] == [
        ("Участник 892", "Пойду"),
        ("Участник 893", "Возможно"),
    ]
    # someone who answered has moved to Moscow since: another coordinator of Samara only counts
    # them (other regions only in aggregate); the event's creator and a federal coordinator
    # see the name
    await join(harness, 894, "Приволжский", "Самарская область", "Образование")
    await harness.person(894).send(f"/start ev_{event_id}")
    await harness.person(894).tap("Пойду")
    await harness.storage.db.execute(
        "UPDATE members SET region_code = 'RU-MOW' WHERE telegram_id = 894"
    )

    async def listed(coordinator: int) -> tuple[list[str], str]:
        await harness.person(coordinator).send(f"/event {event_id}")
        await harness.person(coordinator).tap("Список участников")
        call = harness.telegram.sent("sendDocument", chat_id=coordinator)[-1]
        sheet = load_workbook(io.BytesIO(call.files["document"][1])).active
        return [r[0] for r in list(sheet.iter_rows(values_only=True))[1:]], call.params["caption"]

    await register(harness, 896)
    await make_coordinator(harness, 896, "RU-SAM")
    names, caption = await listed(896)
    assert sorted(names) == ["Участник 892", "Участник 893"] and "894" not in caption
    assert "2 ответа. Ещё 1 ответ — из регионов, которые вы не координируете" in caption
    await register(harness, 895)
    await make_coordinator(harness, 895, "all")
    for everyone in (891, 895):  # the creator, the federal coordinator
        names, caption = await listed(everyone)
        assert sorted(names) == ["Участник 892", "Участник 893", "Участник 894"]
        assert "Ещё" not in caption
    await c.tap("QR-код")
    photo = harness.telegram.sent("sendPhoto", chat_id=891)[-1]
    assert photo.files["photo"][1].startswith(b"\x89PNG")
    link = photo.params["caption"].split("Ссылка: ")[1]
    payload = link.split("start=")[1]
    # at the venue, on the day
    harness.clock.now = datetime(2026, 11, 25, 9, 50, tzinfo=UTC)
    p = harness.person(893)
    await p.send(f"/start {payload}")
    assert "Вы отмечены" in p.last
    await p.send(f"/start {payload}")
    assert "уже отмечены" in p.last
    await p.send(f"/start ci_{event_id}_wrongsecret")
    assert "не подходит" in p.last
    rows_db = await harness.storage.db.fetchall("SELECT member_id, checked_in_at FROM rsvps")
    assert sum(1 for r in rows_db if r["checked_in_at"]) == 1
    # the creator loses Samara (and coordinates Moscow now): no more than any coordinator
    await make_coordinator(harness, 891, "RU-MOW")
    member = await harness.storage.members.by_telegram_id(891)
    assert member is not None
    roles = await harness.storage.roles.for_member(member.id)
    admin = harness.person(ADMIN_ID)
    await admin.send(f"/revoke {next(r.id for r in roles if r.region_code == 'RU-SAM')}")
    await admin.tap("Да, снять роль")
    await c.send(f"/event {event_id}")
    assert "не ваших регионов" in c.last, c.last
    names, _ = await listed(895)
    assert len(names) == 3  # the federal coordinator still sees everyone


async def test_check_in_window_and_its_refusal_agree(harness: Harness) -> None:
    await register(harness, 901)
    await make_coordinator(harness, 901, "RU-SAM")
    event_id = await create_event(harness, 901)  # 25.11 14:00–17:00 Samara (10:00 UTC)
    event = await harness.storage.events.get(event_id)
    assert event is not None
    p = harness.person(901)
    link = f"/start ci_{event_id}_{event.checkin_secret}"
    harness.clock.now = datetime(2026, 11, 24, 21, 59, tzinfo=UTC)  # 01:59 in Samara
    await p.send(link)
    assert p.last == (
        "Отметка на мероприятии «Семинар: права детей» ещё не открыта: она откроется"
        " за 12 часов до начала — 25 ноября 2026, 02:00 по Самаре."
    )
    harness.clock.now = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)  # 02:00: what the text said
    await p.send(link)
    assert "Вы отмечены" in p.last
    harness.clock.now = datetime(2026, 11, 26, 1, 1, tzinfo=UTC)  # 12 h after the end, and a bit
    await p.send(link)
    assert p.last == (
        "Отметка на мероприятии «Семинар: права детей» уже закрыта:"
        " она была открыта до 26 ноября 2026, 05:00 по Самаре."
    )
    rows = await harness.storage.db.fetchall("SELECT checked_in_at FROM rsvps")
    assert [r[0] is not None for r in rows] == [True]


async def test_cancelling_tells_those_coming_and_marks_every_copy(harness: Harness) -> None:
    await register(harness, 911)
    await make_coordinator(harness, 911, "RU-SAM")
    for user_id in (912, 913):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 911)
    await harness.deliver()
    await harness.person(912).tap("Пойду")
    c = harness.person(911)
    await c.send(f"/event {event_id}")
    await c.tap("Отменить мероприятие")
    assert "Все, кто собирался прийти" in c.last
    await c.tap("Да, отменить")
    assert "Сообщение получит 1 человек" in c.last
    await harness.deliver()
    going = harness.person(912)
    assert "отменено" in going.last and "Извините" in going.last
    announcement = [t for t in harness.person(913).texts if "Семинар" in t]
    assert announcement and announcement[0].startswith("❌ <b>МЕРОПРИЯТИЕ ОТМЕНЕНО</b>")
    await harness.person(913).press(f"ev:{event_id}:going", message_id=1)
    assert "отменено" in harness.person(913).alerts()[-1]
    await c.send(f"/event {event_id}")
    assert "❌ Отменено" in c.last and "Отменить мероприятие" not in str(c.buttons())


async def test_editing_an_event_edits_every_delivered_copy(harness: Harness) -> None:
    await register(harness, 921)
    await make_coordinator(harness, 921, "RU-SAM")
    await join(harness, 922, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 921)
    await harness.deliver()
    c = harness.person(921)
    await c.send(f"/event {event_id}")
    await c.tap("Место")
    await c.send("Самара, Дом дружбы народов")
    assert "Исправляю 2 разосланных объявления" in c.last
    await harness.deliver()
    copy = next(t for t in harness.person(922).texts if "Семинар" in t)
    assert "Дом дружбы народов" in copy
    assert "Пойду" in harness.person(922).buttons()
    event = await harness.storage.events.get(event_id)
    assert event is not None and event.place == "Самара, Дом дружбы народов"


async def test_running_an_event_of_another_region_is_refused(harness: Harness) -> None:
    await register(harness, 931)
    await make_coordinator(harness, 931, "RU-SAM")
    await join(harness, 932, "Сибирский", "Иркутская область", "Образование")
    await make_coordinator(harness, 932, "RU-IRK")
    event_id = await create_event(harness, 931)
    other = harness.person(932)
    await other.send(f"/event {event_id}")
    assert "не ваших регионов" in other.last
    for action in ("xlsx", "qr", "cancel_yes", "edit:title", "card"):
        await other.press(f"evm:{event_id}:{action}", message_id=1)
    assert all("не ваших регионов" in a for a in other.alerts())
    event = await harness.storage.events.get(event_id)
    assert event is not None and event.status == "published"
    member = harness.person(933)
    await member.send(f"/event {event_id}")
    assert "зарегистрируйтесь" in member.last or "только координаторам" in member.last


async def test_cancelling_while_the_announcement_is_still_going_out(harness: Harness) -> None:
    await register(harness, 941)
    await make_coordinator(harness, 941, "RU-SAM")
    for user_id in range(942, 962):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 941)
    await harness.delivery.run_once()  # 8 of 21 announcements are out
    c = harness.person(941)
    await c.send(f"/event {event_id}")
    await c.tap("Отменить мероприятие")
    await c.tap("Да, отменить")
    await harness.deliver()
    copies = [
        next((t for t in harness.person(uid).texts if "Семинар" in t), None)
        for uid in range(942, 962)
    ]
    delivered = [text for text in copies if text is not None]
    assert 0 < len(delivered) < 20  # the rest never went out
    assert all(text.startswith("❌ <b>МЕРОПРИЯТИЕ ОТМЕНЕНО</b>") for text in delivered)


async def test_editing_while_the_announcement_is_still_going_out(harness: Harness) -> None:
    await register(harness, 971)
    await make_coordinator(harness, 971, "RU-SAM")
    for user_id in range(972, 992):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 971)
    await harness.delivery.run_once()
    c = harness.person(971)
    await c.send(f"/event {event_id}")
    await c.tap("Название")
    await c.send("Семинар (перенесён в другой зал)")
    await harness.deliver()
    for uid in range(972, 992):
        copy = next(t for t in harness.person(uid).texts if "Семинар" in t)
        assert "перенесён в другой зал" in copy, uid


async def test_an_announcement_too_long_for_telegram_is_refused_with_the_excess(
    harness: Harness,
) -> None:
    await register(harness, 1201)
    await make_coordinator(harness, 1201, "RU-SAM")
    c = harness.person(1201)
    await c.send("/new_event")
    await c.send("Т" * 200)
    await c.send("О" * 2500)
    await c.send("\n".join(f"Блок {i} " + "б" * 50 for i in range(15)))
    await c.send("25.11 14:00")
    await c.tap("3 часа")
    await c.send("А" * 300)
    for topic in (
        "Защита прав детей",
        "Образование",
        "Права женщин",
        "Малый бизнес",
        "Взаимодействие с властью",
        "Межнациональные отношения",
        "Адаптация мигрантов",
        "Правозащита",
        "Международное сотрудничество",
    ):
        await c.tap(topic)
    await c.tap("Готово")
    await c.send("100")
    await c.tap("Готово ➡️")
    assert "длиннее, чем Telegram позволяет" in c.last
    assert "Коротко опишите мероприятие" in c.last


async def test_erased_members_free_their_place_and_are_not_promoted(harness: Harness) -> None:
    await register(harness, 1211)
    await make_coordinator(harness, 1211, "RU-SAM")
    for user_id in (1212, 1213, 1214):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 1211, capacity="1")
    await harness.deliver()
    await harness.person(1212).tap("Пойду")
    await harness.person(1213).tap("Пойду")  # waitlist 1
    await harness.person(1214).tap("Пойду")  # waitlist 2
    erased = harness.person(1213)
    await erased.send("/forget")
    await erased.tap("Да, удалить")
    await harness.person(1212).tap("Не пойду")
    await harness.deliver()
    assert "Освободилось место" in harness.person(1214).last
    counts = await harness.storage.events.counts(event_id)
    assert (counts.going, counts.waitlist) == (1, 0)


async def test_a_coordinator_of_one_region_of_a_wider_event(harness: Harness) -> None:
    import io

    from openpyxl import load_workbook

    await register(harness, 1221)
    await make_coordinator(harness, 1221, "all")
    await join(harness, 1222, "Приволжский", "Самарская область", "Образование")
    await make_coordinator(harness, 1222, "RU-SAM")
    await join(harness, 1223, "Сибирский", "Иркутская область", "Образование")
    federal = harness.person(1221)
    await federal.send("/new_event")
    await federal.send("Конференция сети")
    await federal.send("Ежегодная конференция сети НКО: итоги года и планы.")
    await federal.tap("Пропустить")
    await federal.send("10.12 10:00")
    await federal.tap("2 часа")
    await federal.send("Москва")
    await federal.tap("Сибирский")
    await federal.tap("Готово")
    await federal.tap("Готово")
    await federal.tap("Без ограничения")
    await federal.tap("Готово ➡️")
    await federal.tap("Опубликовать")
    await harness.deliver()
    await harness.person(1223).tap("Пойду")
    # a participant whose name looks like a formula
    await harness.storage.db.execute("UPDATE members SET name = '=HYPERLINK(1)' WHERE id = 3")
    await harness.person(1222).tap("Пойду")
    regional = harness.person(1222)
    await regional.send("/event 1")
    await regional.tap("Список участников")
    call = harness.telegram.sent("sendDocument", chat_id=1222)[-1]
    rows = list(
        load_workbook(io.BytesIO(call.files["document"][1])).active.iter_rows(values_only=True)
    )
    assert [r[2] for r in rows[1:]] == ["Самарская область"]  # not the Irkutsk participant
    await regional.press("evm:1:cancel_yes", message_id=1)
    assert "координатор всех его регионов" in regional.alerts()[-1]
    await federal.send("/event 1")
    await federal.tap("Список участников")
    call = harness.telegram.sent("sendDocument", chat_id=1221)[-1]
    rows = list(
        load_workbook(io.BytesIO(call.files["document"][1])).active.iter_rows(values_only=True)
    )
    assert "'=HYPERLINK(1)" in [r[0] for r in rows]


@pytest.mark.parametrize(
    ("zone", "lang", "shown"),
    [
        ("Europe/Kaliningrad", "ru", "08:00–11:00 по Калининграду (09:00–12:00 МСК)"),
        ("Europe/Moscow", "ru", "09:00–12:00 МСК"),
        ("Asia/Irkutsk", "ru", "14:00–17:00 по Иркутску (09:00–12:00 МСК)"),
        ("Asia/Kamchatka", "ru", "18:00–21:00 по Камчатке (09:00–12:00 МСК)"),
        ("Asia/Almaty", "ru", "11:00–14:00 по Алматы (09:00–12:00 МСК)"),
        ("Asia/Almaty", "en", "11:00–14:00 Almaty time (09:00–12:00 Moscow time)"),
        ("Asia/Kolkata", "ru", "11:30–14:30 по времени UTC+5:30 (09:00–12:00 МСК)"),
    ],
)
def test_every_zone_is_named(zone: str, lang: str, shown: str) -> None:
    start = datetime(2026, 12, 25, 6, 0, tzinfo=UTC)
    assert when_text(start, start + timedelta(hours=3), lang, ZoneInfo(zone)).endswith(shown)


def test_every_zone_of_the_shipped_regions_has_a_name() -> None:
    for region in load_regions().regions:
        assert "UTC" not in zone_name(region.tz, "ru", START), region.code


def test_moscow_date_is_shown_when_it_differs() -> None:
    start = datetime(2026, 12, 24, 20, 30, tzinfo=UTC)  # 25 Dec 08:30 in Kamchatka
    text = when_text(start, start + timedelta(hours=2), "ru", ZoneInfo("Asia/Kamchatka"))
    assert text == (
        "25 декабря 2026, 08:30–10:30 по Камчатке (24 декабря, 23:30 – 25 декабря, 01:30 МСК)"
    )


async def test_a_federal_coordinator_picks_single_regions_by_name(harness: Harness) -> None:
    await register(harness, 1231)  # lives in Samara
    await make_coordinator(harness, 1231, "all")
    c = harness.person(1231)
    await c.send("/new_event")
    await c.send("Встреча в Иркутске")
    await c.send("Встреча руководителей НКО Прибайкалья с федеральным координатором.")
    await c.tap("Пропустить")
    await c.send("12.12 11:00")
    await c.tap("2 часа")
    await c.send("Иркутск, ул. Ленина, 1")
    await c.send("Иркутск")
    assert "Добавлен регион: Иркутская область" in c.last
    await c.send("Самара")
    assert "Убран регион: Самарская область" in c.last
    await c.send("Атлантида")
    assert "Не нашёл" in c.last
    await c.tap("Готово")
    await c.tap("Готово")
    await c.tap("Без ограничения")
    await c.tap("Готово ➡️")
    await c.tap("Опубликовать")
    event = await harness.storage.events.get(1)
    assert event is not None and event.regions == ("RU-IRK",)


async def test_a_late_answer_gets_only_the_reminders_still_ahead(harness: Harness) -> None:
    await register(harness, 1241)
    await make_coordinator(harness, 1241, "RU-SAM")
    await join(harness, 1242, "Приволжский", "Самарская область", "Образование")
    await create_event(harness, 1241)  # starts 25.11 10:00 UTC
    await harness.deliver()
    harness.clock.now = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # 10 hours before
    await harness.person(1242).tap("Пойду")
    await harness.run_jobs()
    await harness.deliver()
    assert not any("Напоминание" in t for t in harness.person(1242).texts)
    harness.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    await harness.run_jobs()
    await harness.deliver()
    assert sum("Напоминание" in t for t in harness.person(1242).texts) == 1


async def test_events_list_pages(harness: Harness) -> None:
    await register(harness, 1251)
    await make_coordinator(harness, 1251, "RU-SAM")
    for _ in range(10):
        await create_event(harness, 1251)
    p = harness.person(1251)
    await p.send("/events")
    assert "(страница 1 из 2)" in p.last
    assert p.buttons().count("Семинар: права детей") == 8
    await p.tap("Дальше")
    assert "(страница 2 из 2)" in p.last
    assert p.buttons().count("Семинар: права детей") == 2
    await p.tap("Раньше")
    assert "(страница 1 из 2)" in p.last
    await p.press("evl:x")
    assert "кнопка уже не действует" in p.alerts()[-1]
    await p.send("/event")  # the coordinator's own list pages the same way
    assert "Какое мероприятие открыть? (страница 1 из 2)" in p.last
    assert sum("Семинар" in b for b in p.buttons()) == 8
    await p.tap("Дальше")
    assert sum("Семинар" in b for b in p.buttons()) == 2
    await p.tap("№ 10")
    assert "№ 10 · Семинар" in p.last
    member = harness.person(1252)
    await register(harness, 1252)
    await member.press("evm:page:1", message_id=1)
    assert "только координаторам" in member.alerts()[-1]


async def test_starting_another_dialogue_says_the_open_one_was_closed(harness: Harness) -> None:
    await register(harness, 1261)
    await make_coordinator(harness, 1261, "RU-SAM")
    c = harness.person(1261)
    await c.send("/new_event")
    await c.send("Черновик")
    await c.send("/settings")
    assert "Черновик мероприятия закрыт без публикации" in c.texts[-2]
    assert "Настройки" in c.last
    dialog = await harness.storage.dialogs.get(1261)
    assert dialog is not None and dialog.flow == "set"


async def test_moving_an_event_tells_those_coming_and_replans_reminders(harness: Harness) -> None:
    await register(harness, 1301)
    await make_coordinator(harness, 1301, "RU-SAM")
    await join(harness, 1302, "Приволжский", "Самарская область", "Образование")
    await join(harness, 1303, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 1301)  # 25.11 14:00 Samara
    await harness.deliver()
    await harness.person(1302).tap("Пойду")
    await harness.person(1303).tap("Не пойду")
    harness.clock.now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # the day before
    await harness.run_jobs()
    await harness.deliver()
    c = harness.person(1301)
    await c.send(f"/event {event_id}")
    await c.tap("Дата и время")
    assert "по Самаре" in c.last and "Продолжительность останется прежней" in c.last
    await c.send("31.02 10:00")
    assert "Такой даты нет" in c.last
    await c.send("20.11 10:00")
    assert "уже прошло" in c.last
    unchanged = await harness.storage.events.get(event_id)
    assert unchanged is not None and unchanged.starts_at == datetime(2026, 11, 25, 10, tzinfo=UTC)
    await c.send("28.11 15:00")
    assert "О переносе узнает 1 человек" in c.last
    await harness.deliver()
    moved = await harness.storage.events.get(event_id)
    assert moved is not None
    assert (moved.starts_at, moved.ends_at) == (
        datetime(2026, 11, 28, 11, tzinfo=UTC),
        datetime(2026, 11, 28, 14, tzinfo=UTC),  # the same three hours
    )
    going = harness.person(1302)
    assert "переносится" in going.last and "28 ноября 2026, 15:00–18:00 по Самаре" in going.last
    assert not any("переносится" in t for t in harness.person(1303).texts)
    copy = next(t for t in harness.person(1303).texts if "Семинар" in t)
    assert "28 ноября" in copy  # every delivered announcement shows the new date
    reminders = [t for t in going.texts if "Напоминание" in t]
    assert len(reminders) == 1  # the one for the old date
    harness.clock.now = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    for _ in range(2):
        await harness.run_jobs()
        await harness.deliver()
    reminders = [t for t in going.texts if "Напоминание" in t]
    assert len(reminders) == 2 and "28 ноября" in reminders[-1]


async def test_more_places_promote_the_waitlist_in_turn(harness: Harness) -> None:
    await register(harness, 1311)
    await make_coordinator(harness, 1311, "RU-SAM")
    for user_id in (1312, 1313, 1314):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 1311, capacity="1")
    await harness.deliver()
    for user_id in (1312, 1313, 1314):
        await harness.person(user_id).tap("Пойду")
    c = harness.person(1311)
    await c.send(f"/event {event_id}")
    await c.tap("Число мест")
    assert "Сейчас: 1" in c.last
    await c.send("много")
    assert "цифрами" in c.last
    await c.send("2")
    assert "место получил 1 человек" in c.last
    await harness.deliver()
    assert "Освободилось место" in harness.person(1313).last
    assert not any("Освободилось" in t for t in harness.person(1314).texts)
    counts = await harness.storage.events.counts(event_id)
    assert (counts.going, counts.waitlist) == (2, 1)
    await c.send(f"/event {event_id}")
    await c.tap("Число мест")
    await c.tap("Без ограничения")
    await harness.deliver()
    assert "Освободилось место" in harness.person(1314).last
    event = await harness.storage.events.get(event_id)
    assert event is not None and event.capacity is None
    counts = await harness.storage.events.counts(event_id)
    assert (counts.going, counts.waitlist) == (3, 0)


async def test_a_cancelled_event_takes_back_its_promotion_notice(harness: Harness) -> None:
    """A place freed up, then the event is cancelled before the notice went out: the person
    hears of the cancellation only, never "a place has freed up" after it."""
    await register(harness, 1331)
    await make_coordinator(harness, 1331, "RU-SAM")
    for user_id in (1332, 1333):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 1331, capacity="1")
    await harness.deliver()
    for user_id in (1332, 1333):
        await harness.person(user_id).tap("Пойду")
    c = harness.person(1331)
    await c.send(f"/event {event_id}")
    await c.tap("Число мест")
    await c.send("2")
    assert "место получил 1 человек" in c.last
    await c.send(f"/event {event_id}")
    await c.tap("Отменить мероприятие")
    await c.tap("Да, отменить")
    await harness.deliver()
    waiting = harness.person(1333)
    assert not any("Освободилось" in t for t in waiting.texts)
    assert "отменено" in waiting.last.lower()
    rows = await harness.storage.db.fetchall(
        "SELECT status FROM outbox WHERE dedupe_key GLOB ?", (f"promoted{event_id}:*",)
    )
    assert [r[0] for r in rows] == ["cancelled"]


async def test_editing_and_removing_the_program(harness: Harness) -> None:
    await register(harness, 1321)
    await make_coordinator(harness, 1321, "RU-SAM")
    event_id = await create_event(harness, 1321)
    c = harness.person(1321)
    await c.send(f"/event {event_id}")
    await c.tap("Программа")
    await c.send("\n".join(f"Блок {i}" for i in range(20)))
    assert "не больше 15 блоков" in c.last
    await c.send("Открытие\nПрактикум")
    event = await harness.storage.events.get(event_id)
    assert event is not None and event.program == ("Открытие", "Практикум")
    await c.send(f"/event {event_id}")
    await c.tap("Программа")
    await c.tap("Убрать программу")
    event = await harness.storage.events.get(event_id)
    assert event is not None and event.program == ()


async def test_adding_regions_announces_to_the_new_ones_only(harness: Harness) -> None:
    await register(harness, 1331)
    await make_coordinator(harness, 1331, "all")
    await join(harness, 1332, "Приволжский", "Самарская область", "Образование")
    await join(harness, 1333, "Сибирский", "Томская область", "Образование")
    event_id = await create_event(harness, 1331, federal=True)  # for Samara, their region
    await harness.deliver()
    assert not any("Семинар" in t for t in harness.person(1333).texts)
    c = harness.person(1331)
    await c.send(f"/event {event_id}")
    await c.tap("Регионы")
    assert "Сейчас: Самарская область" in c.last
    await c.send("Самарская область")
    assert "уже есть в объявлении" in c.last
    await c.send("Томская область, xyzzy qwerty")
    assert "«xyzzy qwerty»" in c.last
    await c.send("Томская область")
    assert "получит ещё 1 участник" in c.last
    await harness.deliver()
    assert sum("Семинар" in t for t in harness.person(1333).texts) == 1
    assert sum("Семинар" in t for t in harness.person(1332).texts) == 1  # not sent twice
    event = await harness.storage.events.get(event_id)
    assert event is not None and event.regions == ("RU-SAM", "RU-TOM")
    await harness.person(1333).tap("Пойду")
    assert (await harness.storage.events.counts(event_id)).going == 1


async def test_a_regional_coordinator_adds_only_their_regions(harness: Harness) -> None:
    await register(harness, 1341)
    await make_coordinator(harness, 1341, "RU-SAM")
    event_id = await create_event(harness, 1341)
    c = harness.person(1341)
    await c.send(f"/event {event_id}")
    await c.tap("Регионы")
    await c.send("Томская область")
    assert "Не нашёл среди ваших регионов «Томская область»" in c.last
    await c.tap("Отмена")
    event = await harness.storage.events.get(event_id)
    assert event is not None and event.regions == ("RU-SAM",)


async def test_a_button_of_an_old_step_of_the_event_draft_shows_the_open_question(
    harness: Harness,
) -> None:
    await register(harness, 845)
    await make_coordinator(harness, 845, "RU-SAM")
    c = harness.person(845)
    await c.send("/new_event")
    await c.send("Тренинг")
    await c.send("Тренинг для НКО о взаимодействии с властью.")
    message = c.last_message_with_buttons()
    skip = next(
        b["callback_data"]
        for row in message["reply_markup"]["inline_keyboard"]
        for b in row
        if "Пропустить" in b["text"]
    )
    await c.send("Адвокация\nПереговоры")  # the programme typed instead
    asked = c.last
    draft = await harness.storage.dialogs.get(845)
    await c.press(skip, message["message_id"])  # "Пропустить" of the programme, answered
    assert "вот вопрос, на котором вы остановились" in c.alerts()[-1]
    assert c.last == asked  # the date question again, as a new message
    assert c.texts.count(asked) == 2
    after = await harness.storage.dialogs.get(845)
    assert draft is not None and after is not None
    assert (after.step, after.data) == (draft.step, draft.data)
    await c.send("26.11 10:00")  # and it is answered as usual
    assert "Сколько продлится?" in c.last
