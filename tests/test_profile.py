"""A registered member's own commands: /me, /settings, /mydata, /forget, /help."""

from __future__ import annotations

import json

from tests.conftest import Harness
from tests.test_registration import register


async def test_me_shows_the_profile(harness: Harness) -> None:
    await register(harness, 201)
    p = harness.person(201)
    await p.send("/me")
    assert "Ваш профиль" in p.last
    assert "Анна Иванова" in p.last and "Самарская область" in p.last
    assert "Образование, Молодёжь" in p.last


async def test_commands_of_members_refuse_strangers_politely(harness: Harness) -> None:
    p = harness.person(202)
    for command in ("/me", "/settings", "/mydata", "/forget"):
        await p.send(command)
        assert p.last == "Сначала зарегистрируйтесь: /start", command
    await p.send("привет")
    assert "зарегистрируйтесь" in p.last
    assert await harness.storage.members.totals() == {}


async def test_settings_change_every_field(harness: Harness) -> None:
    await register(harness, 203)
    p = harness.person(203)
    await p.send("/settings")
    assert "Настройки" in p.last
    await p.tap("Имя")
    await p.send("Анна Петровна")
    assert "Сохранено" in p.last and "Анна Петровна" in p.last
    await p.tap("Организация")
    await p.send("Центр «Согласие»")
    await p.tap("Регион")
    await p.tap("Сибирский")
    await p.tap("Иркутская область")
    await p.tap("Темы")
    assert "✅ Образование" in p.buttons()
    await p.tap("Образование")
    await p.tap("Экология")
    await p.tap("Готово")
    await p.tap("Язык")
    await p.tap("English")
    assert "Saved" in p.last and "Settings" in p.last
    await p.tap("Close")
    assert "Settings closed" in p.last
    member = await harness.storage.members.by_telegram_id(203)
    assert member is not None
    assert (member.name, member.organisation, member.region_code, member.language) == (
        "Анна Петровна",
        "Центр «Согласие»",
        "RU-IRK",
        "en",
    )
    assert member.topics == ("ecology", "youth")
    # the menu of this chat is now in English
    menu = harness.telegram.commands[('{"chat_id": 203, "type": "chat"}', "")]
    assert {"command": "me", "description": "My profile"} in menu


async def test_settings_wrong_input_and_back(harness: Harness) -> None:
    await register(harness, 204)
    p = harness.person(204)
    await p.send("/settings")
    await p.send("хочу поменять имя")
    assert "выберите ответ кнопкой" in p.last
    await p.tap("Имя")
    await p.send("!")
    assert "напишите имя буквами" in p.last
    await p.tap("Назад")
    assert "Что изменить" in p.last
    member = await harness.storage.members.by_telegram_id(204)
    assert member is not None and member.name == "Анна Иванова"


async def test_mydata_sends_everything_as_a_file(harness: Harness) -> None:
    await register(harness, 205)
    p = harness.person(205)
    await p.send("/mydata")
    call = harness.telegram.sent("sendDocument", chat_id=205)[-1]
    filename, content = call.files["document"]
    assert filename == "my-data.json"
    data = json.loads(content)
    assert data["member"]["name"] == "Анна Иванова"
    assert data["member"]["organisation"] == "НКО «Диалог культур»"
    assert data["member"]["region"]["code"] == "RU-SAM"
    assert data["member"]["topics"] == ["education", "youth"]
    assert data["consent"]["version"]
    assert "Удалить данные" in call.params["caption"]


async def test_forget_erases_personal_data_after_confirmation(harness: Harness) -> None:
    await register(harness, 206)
    p = harness.person(206)
    await p.send("/forget")
    await p.tap("Нет, оставить")
    assert "данные остаются" in p.last
    assert await harness.storage.members.by_telegram_id(206) is not None
    await p.send("/forget")
    confirmation = p.last_message_with_buttons()["message_id"]
    await p.tap("Да, удалить")
    assert "данные удалены" in p.last
    assert await harness.storage.members.by_telegram_id(206) is None
    rows = await harness.storage.db.fetchall("SELECT * FROM members")
    assert len(rows) == 1
    row = dict(rows[0])
    assert row["telegram_id"] is None and row["name"] is None and row["organisation"] is None
    assert row["consent_at"] is None and row["status"] == "erased"
    assert row["region_code"] == "RU-SAM"  # anonymous statistics
    assert row["created_at"].endswith("-01T00:00:00.000000Z")  # month only
    assert await harness.storage.db.fetchall("SELECT * FROM member_topics") == []
    # the chat menu falls back to the guest one
    assert ('{"chat_id": 206, "type": "chat"}', "") not in harness.telegram.commands
    # pressing the old button again changes nothing
    await p.press("fgt:yes", message_id=confirmation)
    assert "зарегистрируйтесь" in p.alerts()[-1]


async def test_help_depends_on_the_role(harness: Harness) -> None:
    stranger = harness.person(207)
    await stranger.send("/help")
    assert "зарегистрируйтесь" in stranger.last
    await register(harness, 208)
    member = harness.person(208)
    await member.send("/help")
    assert "/settings" in member.last and "/invite_coordinator" not in member.last
    admin = harness.person(900001)
    await admin.send("/help")
    assert "/invite_coordinator" in admin.last


async def test_unknown_command_and_plain_text(harness: Harness) -> None:
    await register(harness, 209)
    p = harness.person(209)
    await p.send("/frobnicate")
    assert "Такой команды нет" in p.last
    await p.send("Здравствуйте!")
    assert "не понял" in p.last


async def test_blocking_the_bot_marks_the_member_unreachable(harness: Harness) -> None:
    from tests.factories import my_chat_member_update

    await register(harness, 210)
    p = harness.person(210)
    await harness.app.process_update(
        my_chat_member_update(harness.app.bot, p.user, "member", "kicked")
    )
    member = await harness.storage.members.by_telegram_id(210)
    assert member is not None and member.status == "unreachable"
    await harness.app.process_update(
        my_chat_member_update(harness.app.bot, p.user, "kicked", "member")
    )
    member = await harness.storage.members.by_telegram_id(210)
    assert member is not None and member.status == "active"


async def test_settings_back_forgets_unsaved_choices_and_cancel_closes(harness: Harness) -> None:
    await register(harness, 211)
    p = harness.person(211)
    await p.send("/settings")
    await p.tap("Темы")
    await p.tap("Экология")
    await p.tap("Назад")
    assert "Экология" not in p.last
    await p.tap("Имя")
    await p.tap("Отмена")
    assert "Настройки закрыты" in p.last
    member = await harness.storage.members.by_telegram_id(211)
    assert member is not None and member.topics == ("education", "youth")
