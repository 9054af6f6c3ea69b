"""Every copy of an announcement (delivered, or a card opened later) shows its reader's own
answer, in the text and on the buttons, and follows edits and the cancellation (#13)."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_events import create_event, join
from tests.test_registration import register

GOING = "<b>Ваш ответ:</b> ✅ Пойду."
MAYBE = "<b>Ваш ответ:</b> ✅ Возможно."
NO = "<b>Ваш ответ:</b> ❌ Не пойду."


def waiting(position: int) -> str:
    return f"<b>Ваш ответ:</b> ⏳ Лист ожидания, №{position}."


def says(text: str, line: str) -> bool:
    """The copy ends with this answer line."""
    return text.split("\n")[-1].startswith(line)


def announcement_of(harness: Harness, user_id: int) -> str:
    return next(t for t in harness.person(user_id).texts if "Семинар" in t)


async def test_after_an_edit_each_copy_keeps_its_own_answer(harness: Harness) -> None:
    await register(harness, 1401)
    await make_coordinator(harness, 1401, "RU-SAM")
    for user_id in (1402, 1403, 1404, 1405):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 1401, capacity="1")
    await harness.deliver()
    await harness.person(1402).tap("Пойду")
    await harness.person(1403).tap("Пойду")  # full: the waiting list
    await harness.person(1404).tap("Возможно")
    await harness.deliver()
    c = harness.person(1401)
    await c.send(f"/event {event_id}")
    await c.tap("Место")
    await c.send("Самара, Дом дружбы народов")
    await harness.deliver()
    expected = {
        1402: (GOING, ["✅ Пойду", "Возможно", "Не пойду"]),
        1403: (waiting(1), ["⏳ Лист ожидания, №1", "Возможно", "Не пойду"]),
        1404: (MAYBE, ["Пойду", "✅ Возможно", "Не пойду"]),
    }
    for user_id, (line, buttons) in expected.items():
        copy = announcement_of(harness, user_id)
        assert "Дом дружбы народов" in copy and says(copy, line), (user_id, copy)
        assert harness.person(user_id).buttons()[:3] == buttons, user_id
    silent = announcement_of(harness, 1405)  # no answer: nothing marked
    assert "Дом дружбы народов" in silent and "Ваш ответ" not in silent
    assert harness.person(1405).buttons()[:3] == ["Пойду", "Возможно", "Не пойду"]


async def test_a_waiting_place_is_not_a_seat_and_every_answer_stays_in_the_message(
    harness: Harness,
) -> None:
    await register(harness, 1411)
    await make_coordinator(harness, 1411, "RU-SAM")
    for user_id in (1412, 1413, 1414):
        await join(harness, user_id, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 1411, capacity="1")
    await harness.deliver()
    first, second, third = (harness.person(u) for u in (1412, 1413, 1414))
    await first.tap("Пойду")
    assert says(announcement_of(harness, 1412), GOING)  # in the message, not only a pop-up
    assert "Осталось 0 мест" in announcement_of(harness, 1412)
    await second.tap("Пойду")
    assert "листе ожидания (номер 1)" in second.alerts()[-1]
    assert says(announcement_of(harness, 1413), waiting(1))
    assert "⏳ Лист ожидания, №1" in second.buttons() and "✅ Пойду" not in second.buttons()
    await third.tap("Пойду")
    assert says(announcement_of(harness, 1414), waiting(2))
    await first.tap("Не пойду")
    assert says(announcement_of(harness, 1412), NO)
    assert first.buttons()[:3] == ["Пойду", "Возможно", "✅ Не пойду"]
    await harness.deliver()
    # the first on the list got the place, the next one moved up: their copies say so
    assert "Освободилось место" in second.last
    assert says(announcement_of(harness, 1413), GOING)
    assert second.buttons()[:3] == ["✅ Пойду", "Возможно", "Не пойду"]
    assert says(announcement_of(harness, 1414), waiting(1))
    assert "⏳ Лист ожидания, №1" in third.buttons()
    counts = await harness.storage.events.counts(event_id)
    assert (counts.going, counts.waitlist, counts.no) == (1, 1, 1)


async def test_cards_opened_later_are_tracked_edited_and_cancelled(harness: Harness) -> None:
    await register(harness, 1421)
    await make_coordinator(harness, 1421, "RU-SAM")
    await join(harness, 1422, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 1421)
    await harness.deliver()
    p = harness.person(1422)
    await p.send(f"/start ev_{event_id}")  # a card through the shared link
    await p.send("/events")
    await p.tap("Семинар: права детей")  # and one from the list
    cards = [t for t in p.texts if "Семинар" in t and "🗓" in t]
    assert len(cards) == 3  # the announcement and two cards
    await p.tap("Возможно")  # in the newest card: the others follow
    await harness.deliver()
    copies = [t for t in p.texts if "Семинар" in t and "🗓" in t]
    assert len(copies) == 3 and all(says(text, MAYBE) for text in copies), copies
    tracked = await harness.storage.db.fetchall(
        "SELECT message_id FROM outbox WHERE dedupe_key LIKE ? AND status = 'sent'"
        " AND chat_id = 1422",
        (f"ev{event_id}:%",),
    )
    assert len(tracked) == 3
    c = harness.person(1421)
    await c.send(f"/event {event_id}")
    await c.tap("Название")
    await c.send("Семинар о правах детей (новый зал)")
    assert "Исправляю 4 разосланных объявления" in c.last  # 3 of 1422 and the coordinator's
    await harness.deliver()
    copies = [t for t in p.texts if "новый зал" in t]
    assert len(copies) == 3 and all(says(text, MAYBE) for text in copies)
    await c.send(f"/event {event_id}")
    await c.tap("Отменить мероприятие")
    await c.tap("Да, отменить")
    await harness.deliver()
    banners = [t for t in p.texts if t.startswith("❌ <b>МЕРОПРИЯТИЕ ОТМЕНЕНО</b>")]
    assert len(banners) == 3


async def test_a_title_with_nothing_to_read_gets_a_hint_of_what_is_expected(
    harness: Harness,
) -> None:
    await register(harness, 1431)
    await make_coordinator(harness, 1431, "RU-SAM")
    c = harness.person(1431)
    await c.send("/new_event")
    photo = [{"file_id": "ph-1", "file_unique_id": "u1", "width": 10, "height": 10}]
    await c.send(None, photo=photo)
    hint = "Напишите название мероприятия словами"
    assert hint in c.last and "Семинар: защита прав детей" in c.last
    await c.send("...")
    assert hint in c.last
    assert "Как называется мероприятие?" in c.last  # the question again, below the hint
    await c.send("Тренинг")
    assert "Коротко опишите мероприятие" in c.last
    assert await harness.storage.db.fetchall("SELECT * FROM events") == []


async def test_renaming_an_event_to_nothing_readable_is_refused(harness: Harness) -> None:
    await register(harness, 1441)
    await make_coordinator(harness, 1441, "RU-SAM")
    event_id = await create_event(harness, 1441)
    c = harness.person(1441)
    await c.send(f"/event {event_id}")
    await c.tap("Название")
    await c.send("— — —")
    assert "Напишите название мероприятия словами" in c.last
    event = await harness.storage.events.get(event_id)
    assert event is not None and event.title == "Семинар: права детей"


async def test_everyone_without_a_choice_by_topics(harness: Harness) -> None:
    await register(harness, 1451)
    await make_coordinator(harness, 1451, "RU-SAM")
    await join(harness, 1452, "Приволжский", "Самарская область", "Экология")
    c = harness.person(1451)
    await c.send("/new_event")
    await c.send("Встреча НКО региона")
    await c.send("Встреча всех НКО региона: планы на следующий год.")
    await c.tap("Пропустить")
    await c.send("25.11 14:00")
    await c.tap("3 часа")
    await c.send("Самара, ул. Ленинградская, 1")
    assert "Всем, без отбора по темам" in c.last
    assert "✅ Всем, без отбора по темам" in c.buttons()  # nothing chosen yet: everyone
    await c.tap("Образование")
    assert "Всем, без отбора по темам" in c.buttons()
    assert "✅ Всем, без отбора по темам" not in c.buttons()
    await c.tap("Всем, без отбора по темам")  # the choice is undone and the dialogue goes on
    assert "Сколько мест?" in c.last
    await c.tap("Без ограничения")
    await c.tap("Готово ➡️")
    assert "получат: 2" in c.last
    await c.tap("Опубликовать")
    await harness.deliver()
    assert any("Встреча НКО региона" in t for t in harness.person(1452).texts)
    event = await harness.storage.events.get(1)
    assert event is not None and event.topics == ()
