"""'Someone is in danger' is a fast path (#13): after the region and a few words (or a location,
or a voice message) the report goes out at once; the other questions come afterwards, each
answer updates the report and its cards, and anonymity holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from tests.conftest import Harness, flow_settings
from tests.test_anonymity import columns_holding
from tests.test_incidents import (
    DOCUMENT,
    LOCATION,
    PHOTO,
    REGIONAL,
    REPORTER,
    VOICE,
    cards,
    network,
    until_sender,
)


@pytest.fixture
def settings(db_path: Path) -> Settings:
    """Questions left open for ten hours: the details' own time limit is what is tested."""
    return flow_settings(db_path, dialog_timeout_minutes=600)


async def start_fast(h: Harness) -> None:
    p = h.person(REPORTER)
    await p.send("/report")
    await p.tap("Да, опасность")
    emergency = p.texts[-2]
    assert "звоните 112" in emergency and "сразу отправлю" in emergency
    assert "ещё на несколько" not in emergency  # no promise followed by eight questions
    assert "В каком регионе" in p.last
    await p.tap("📍")
    assert "Что происходит?" in p.last and "от своего имени" in p.last


async def test_sent_after_the_region_and_a_few_words_then_details_update_the_card(
    harness: Harness,
) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await start_fast(harness)
    await p.send("Бьют у подъезда")
    assert "Обращение отправлено сразу" in p.texts[-2]
    assert "Необязательно. Что произошло?" in p.last
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.urgency == "critical" and incident.danger
    assert incident.category == "unspecified" and incident.description == "Бьют у подъезда"
    assert not incident.anonymous and incident.reporter_member_id is not None
    await harness.deliver()
    card = cards(harness, REGIONAL)[-1]
    assert "Что: пока не указано" in card and "Бьют у подъезда" in card
    assert "угрожает опасность" in card

    await p.tap("Нападение")
    assert "Добавлено" in p.last and "Где именно?" in p.last
    await harness.deliver()
    assert "Что: Нападение, насилие" in cards(harness, REGIONAL)[-1]
    regional = harness.person(REGIONAL)
    assert "уточнил обращение №1: что произошло — Нападение, насилие" in regional.last
    await p.send("Назад")  # a word for a button, not the place
    assert "кнопк" in p.last and "Где именно?" in p.last
    await p.send("Самара, ул. Победы, 5")
    await p.send("Двое мужчин, один ранен, полицию вызвали")
    await p.send(None, **PHOTO)
    assert "Добавлено" in p.last and "Есть фото" in p.last  # more may follow
    await p.tap("Закончить")
    assert "Всё, что вы прислали, уже у координаторов" in p.last
    await harness.deliver()
    card = cards(harness, REGIONAL)[-1]
    assert "Место: Самара, ул. Победы, 5" in card and "Вложений: 1" in card
    assert "Бьют у подъезда\n\nДвое мужчин, один ранен" in card
    assert len(cards(harness, REGIONAL)) == 1  # the one card, edited
    assert harness.telegram.sent("sendPhoto", chat_id=REGIONAL)
    await regional.send("/incident 1")
    history = regional.texts[-1]
    assert "заявитель уточнил, что произошло" in history and "уточнил место" in history
    assert "заявитель приложил вложение" in history
    assert await harness.storage.dialogs.get(REPORTER) is None
    assert await harness.storage.db.fetchall("SELECT * FROM dialogs") == []


async def test_details_before_the_card_is_delivered_change_it_in_the_queue(
    harness: Harness,
) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await start_fast(harness)
    await p.send(None, **LOCATION)  # a location alone is enough to send it
    await p.tap("Угрозы")
    await p.tap("Пропустить")  # the place: the location is there already
    await p.tap("Пропустить")
    await p.tap("Готово")
    assert "Всё, что вы прислали" in p.last
    await harness.deliver()
    sent = cards(harness, REGIONAL)
    assert len(sent) == 1 and "Что: Угрозы" in sent[0] and "Геопозиция" in sent[0]
    assert "описания пока нет" in sent[0]
    assert "уточнил" not in harness.person(REGIONAL).last  # it was in the card from the start


async def test_anonymous_with_a_voice_message_and_no_link_afterwards(harness: Harness) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await start_fast(harness)
    await p.tap("Анонимно")
    assert "Отправитель: 🕶 анонимно" in p.last
    await p.send(None, **VOICE)
    assert "отправлено сразу и анонимно" in p.texts[-2] and "Сохраните код" in p.texts[-2]
    await p.tap("Пропустить")
    await p.tap("Пропустить")
    await p.send("Он всё ещё стоит у двери")
    await p.send(None, **DOCUMENT)  # a document keeps its author: refused
    assert "как фото" in p.last
    await p.send(None, **PHOTO)
    await p.tap("Закончить")
    await harness.deliver()
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.anonymous and incident.reporter_member_id is None
    assert [a.kind for a in await harness.storage.incidents.attachments(1)] == ["voice", "photo"]
    assert "Он всё ещё стоит у двери" in cards(harness, REGIONAL)[-1]
    assert harness.telegram.sent("sendVoice", chat_id=REGIONAL)
    assert await columns_holding(harness.storage, REPORTER) == {("members", "telegram_id")}
    member = await harness.storage.members.by_telegram_id(REPORTER)
    assert member is not None
    linked = await columns_holding(harness.storage, member.id)
    assert not linked & {("incidents", "reporter_member_id"), ("outbox", "member_id")}, linked
    outbox = await harness.storage.db.fetchall("SELECT chat_id FROM outbox")
    assert REPORTER not in [r[0] for r in outbox]


async def test_details_are_bounded_by_the_reports_state_and_time(harness: Harness) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await start_fast(harness)
    await p.send("Кричат и ломают дверь")
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.tap("Решено")
    await regional.send("Полиция приехала, всё спокойно")
    await p.tap("Угрозы")
    assert "уже закрыто" in p.last
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.category == "unspecified"
    assert await harness.storage.dialogs.get(REPORTER) is None

    await start_fast(harness)
    await p.send("Снова пришли к двери")
    await p.press("rpx:cat:nonsense")
    assert "не действует" in p.alerts()[-1]
    harness.clock.advance(hours=3, minutes=1)  # the questions are still open, but it is late
    await p.tap("Угрозы")
    assert "здесь уже нельзя" in p.last and "/status" in p.last
    second = await harness.storage.incidents.get(2)
    assert second is not None and second.category == "unspecified"
    assert await harness.storage.dialogs.get(REPORTER) is None


async def test_back_and_cancel_on_the_fast_path_store_nothing(harness: Harness) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await start_fast(harness)
    await p.send("ой")
    assert "хотя бы пару слов" in p.last
    await p.tap("Назад")
    assert "В каком регионе" in p.last
    await p.tap("📍")
    await p.tap("Отмена")
    assert "ничего не сохранено" in p.last
    assert await harness.storage.db.fetchall("SELECT id FROM incidents") == []


async def test_typing_anonymously_chooses_it_and_is_never_the_description(
    harness: Harness,
) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await start_fast(harness)
    await p.send("Анонимно")  # the button's word typed: the choice, not what is happening
    assert "Отправитель: 🕶 анонимно" in p.last and "Что происходит?" in p.last
    assert "👤 От своего имени" in p.buttons()
    assert await harness.storage.db.fetchall("SELECT id FROM incidents") == []
    await p.send("от своего имени")
    assert "Отправитель: 👤 от своего имени" in p.last and "🕶 Анонимно" in p.buttons()
    await p.send("anonymous")
    assert "Отправитель: 🕶 анонимно" in p.last
    await p.send("анонимно")  # twice is still anonymous
    assert "Отправитель: 🕶 анонимно" in p.last
    assert await harness.storage.db.fetchall("SELECT id FROM incidents") == []
    await p.send("Бьют у подъезда")
    assert "отправлено сразу и анонимно" in p.texts[-2]
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.description == "Бьют у подъезда"
    assert incident.anonymous and incident.reporter_member_id is None
    await p.tap("Закончить")
    await harness.deliver()
    card = cards(harness, REGIONAL)[-1]
    assert "анонимно" in card and "Бьют у подъезда" in card
    member = await harness.storage.members.by_telegram_id(REPORTER)
    assert member is not None
    linked = await columns_holding(harness.storage, member.id)
    assert not linked & {("incidents", "reporter_member_id"), ("outbox", "member_id")}, linked
    assert await columns_holding(harness.storage, REPORTER) == {("members", "telegram_id")}
    stored = await harness.storage.db.fetchall("SELECT description FROM incidents")
    assert [r[0] for r in stored] == ["Бьют у подъезда"]


async def test_typing_named_on_the_fast_step_keeps_it_named(harness: Harness) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await start_fast(harness)
    await p.tap("Анонимно")
    await p.send("От своего имени")
    assert "Отправитель: 👤 от своего имени" in p.last
    await p.send("Кричат и ломают дверь")
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and not incident.anonymous
    assert incident.description == "Кричат и ломают дверь"


async def test_typed_skip_and_finish_words_act_as_their_buttons_and_are_not_stored(
    harness: Harness,
) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    regional = harness.person(REGIONAL)
    await start_fast(harness)
    await p.send("Бьют у подъезда")
    await harness.deliver()
    assert "Необязательно. Что произошло?" in p.last
    await p.send("skip")  # the category
    assert "Где именно?" in p.last
    await p.send("Пропустить")  # the place
    assert "Где именно?" not in p.last
    await p.send("дальше")  # the description
    assert "Есть фото" in p.last
    await p.send("✅ Готово")  # the files: the button's label copied
    assert "Всё, что вы прислали, уже у координаторов" in p.last
    await harness.deliver()
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.place is None
    assert incident.description == "Бьют у подъезда" and incident.category == "unspecified"
    assert not any("уточнил" in text for text in regional.texts)
    assert "Пропустить" not in cards(harness, REGIONAL)[-1]
    assert await harness.storage.dialogs.get(REPORTER) is None

    await start_fast(harness)
    await p.send("Снова пришли к двери")
    await p.tap("Угрозы")
    await p.send("Готово")  # the place: that is all
    assert "Всё, что вы прислали" in p.last
    second = await harness.storage.incidents.get(2)
    assert second is not None and second.place is None
    assert second.description == "Снова пришли к двери"
    await start_fast(harness)
    await p.send("И ещё раз пришли")
    await p.tap("Пропустить")
    await p.tap("Пропустить")
    await p.send("Закончить")  # the description: finished, not appended
    assert "Всё, что вы прислали" in p.last
    third = await harness.storage.incidents.get(3)
    assert third is not None and third.description == "И ещё раз пришли"
    await harness.deliver()
    assert not any("уточнил" in text for text in regional.texts)


async def test_typing_anonymously_at_the_long_reports_sender_question(harness: Harness) -> None:
    await network(harness)
    p = harness.person(REPORTER)
    await until_sender(harness, REPORTER)
    await p.send("анонимно")  # the button's word: the choice
    assert "Проверьте обращение" in p.last
    await p.tap("Отправить")
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.anonymous and incident.reporter_member_id is None
