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
