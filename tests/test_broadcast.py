"""/broadcast: regions and topics, preview, confirmation, limits, progress and report."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_events import join
from tests.test_registration import register


async def test_a_broadcast_reaches_the_chosen_members_with_a_report(harness: Harness) -> None:
    await register(harness, 1101)
    await make_coordinator(harness, 1101, "RU-SAM")
    await join(harness, 1102, "Приволжский", "Самарская область", "Экология")
    await join(harness, 1103, "Приволжский", "Самарская область", "Образование")
    await join(harness, 1104, "Сибирский", "Иркутская область", "Экология")
    c = harness.person(1101)
    await c.send("/broadcast")
    assert "только участникам с определёнными темами" in c.last.lower()
    await c.tap("Экология")
    await c.tap("Готово")
    assert "Пришлите сообщение" in c.last
    await c.send("Субботник в парке <в субботу>", entities=[])
    assert "Отправить это сообщение 1 участнику?" in c.last
    assert "Регионы: Самарская область\nТемы: Экология" in c.last
    assert "Так сообщение увидят участники" in c.texts[-3]
    await c.tap("Отправить")
    assert "Отправлено 0 из 1" in c.last
    await harness.deliver()
    assert harness.person(1102).last == "Субботник в парке &lt;в субботу&gt;"
    assert not any("Субботник" in t for t in harness.person(1103).texts)
    assert not any("Субботник" in t for t in harness.person(1104).texts)
    assert "доставлено 1 из 1" in c.last


async def test_photo_broadcast_and_long_caption(harness: Harness) -> None:
    await register(harness, 1111)
    await make_coordinator(harness, 1111, "RU-SAM")
    c = harness.person(1111)
    await c.send("/broadcast")
    await c.tap("Готово")
    photo = [{"file_id": "ph-1", "file_unique_id": "u1", "width": 10, "height": 10}]
    await c.send(None, photo=photo, caption="х" * 1025)
    assert "до 1024 символов" in c.last
    await c.send(
        None,
        sticker={
            "file_id": "s",
            "file_unique_id": "u",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        },
    )
    assert "Пришлите текст, фото или документ" in c.last
    await c.send(None, photo=photo, caption="Фото с семинара")
    await c.tap("Отправить")
    await harness.deliver()
    sent = harness.telegram.sent("sendPhoto", chat_id=1111)
    assert len(sent) == 2  # the preview and the broadcast itself (the coordinator is a member)
    assert sent[-1].params["photo"] == "ph-1" and sent[-1].params["caption"] == "Фото с семинара"


async def test_members_cannot_broadcast_and_cancel_sends_nothing(harness: Harness) -> None:
    await register(harness, 1121)
    p = harness.person(1121)
    await p.send("/broadcast")
    assert "только координаторам" in p.last
    await p.press("bc:send", message_id=1)
    await make_coordinator(harness, 1121, "RU-SAM")
    await p.send("/broadcast")
    await p.send("отмена")
    assert "Рассылка отменена" in p.last
    assert await harness.storage.db.fetchall("SELECT * FROM outbox") == []


async def test_those_who_blocked_the_bot_are_counted_not_left_out(harness: Harness) -> None:
    await register(harness, 1131)
    await make_coordinator(harness, 1131, "RU-SAM")
    await join(harness, 1132, "Приволжский", "Самарская область", "Экология")
    await join(harness, 1133, "Приволжский", "Самарская область", "Экология")
    c = harness.person(1131)

    async def broadcast(text: str) -> None:
        await c.send("/broadcast")
        await c.tap("Экология")
        await c.tap("Готово")
        await c.send(text)

    harness.telegram.fail("sendMessage", chat_id=1133)  # 1133 has blocked the bot
    await broadcast("Первая новость")
    assert "Отправить это сообщение 2 участникам?" in c.last and "Не получат" not in c.last
    await c.tap("Отправить")
    await harness.deliver()
    assert "доставлено 1 из 2" in c.last
    assert "Не получили: 1 — заблокировали бота или удалили аккаунт в Telegram." in c.last
    member = await harness.storage.members.by_telegram_id(1133)
    assert member is not None and member.status == "unreachable"
    # the next time it is known before sending: said in the confirmation and the report
    await broadcast("Вторая новость")
    assert "Отправить это сообщение 1 участнику?" in c.last
    assert "Не получат: 1 — заблокировали бота или удалили аккаунт в Telegram." in c.last
    await c.tap("Отправить")
    assert "Отправлено 0 из 2" in c.last
    await harness.deliver()
    assert "доставлено 1 из 2" in c.last and "Не получили: 1 — заблокировали бота" in c.last
    assert harness.person(1132).last == "Вторая новость"
    tried = [call.params["text"] for call in harness.telegram.sent("sendMessage", chat_id=1133)]
    assert not any("Вторая" in text for text in tried)  # never sent to them
    rows = await harness.storage.db.fetchall(
        "SELECT status, payload FROM outbox WHERE chat_id = 1133 ORDER BY id"
    )
    assert [r["status"] for r in rows][-1] == "blocked" and rows[-1]["payload"] == "{}"


async def test_an_event_preview_and_report_count_those_who_blocked_the_bot(
    harness: Harness,
) -> None:
    await register(harness, 1141)
    await make_coordinator(harness, 1141, "RU-SAM")
    await join(harness, 1142, "Приволжский", "Самарская область", "Образование")
    await join(harness, 1143, "Приволжский", "Самарская область", "Образование")
    await harness.storage.members.set_reachable(1143, False, harness.clock())
    c = harness.person(1141)
    await c.send("/new_event")
    await c.send("Семинар: права детей")
    await c.send("Практический семинар для руководителей НКО о защите прав детей.")
    await c.tap("Пропустить")
    await c.send("25.11 14:00")
    await c.tap("3 часа")
    await c.send("Самара, ул. Ленинградская, 1")
    await c.tap("Образование")
    await c.tap("Готово")
    await c.tap("Без ограничения")
    await c.tap("Готово ➡️")
    assert (
        "(получат: 2; не получат: 1 — заблокировали бота или удалили аккаунт в Telegram)" in c.last
    )
    await c.tap("Опубликовать")
    await harness.deliver()
    assert "доставлено 2 из 3" in c.last and "Не получили: 1 — заблокировали бота" in c.last
    assert not any("Семинар" in t for t in harness.person(1143).texts)


async def test_a_broadcast_to_everyone_without_a_choice_by_topics(harness: Harness) -> None:
    await register(harness, 1151)  # education and youth
    await make_coordinator(harness, 1151, "RU-SAM")
    await join(harness, 1152, "Приволжский", "Самарская область", "Экология")
    c = harness.person(1151)
    await c.send("/broadcast")
    assert "Всем, без отбора по темам" in c.last
    await c.tap("Экология")
    await c.tap("Всем, без отбора по темам")  # undoes the choice and goes on
    assert "Пришлите сообщение" in c.last
    await c.send("Общее собрание сети")
    assert "Темы: все" in c.last and "Отправить это сообщение 2 участникам?" in c.last
    await c.tap("Отправить")
    await harness.deliver()
    assert harness.person(1152).last == "Общее собрание сети"
