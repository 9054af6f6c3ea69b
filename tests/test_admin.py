"""Admins grant roles with one-time invites; role checks on every admin command."""

from __future__ import annotations

import re

import pytest

from bot.settings import Settings
from tests.conftest import ADMIN_ID, Harness
from tests.test_registration import register

ADMIN_COMMANDS = (
    "/invite_coordinator RU-SAM",
    "/invite_coordinator",
    "/coordinators",
    "/revoke",
    "/revoke 1",
    "/stats",
)


def invite_link(text: str) -> str:
    match = re.search(r"start=(inv_[A-Za-z0-9_-]+)", text)
    assert match, text
    return match[1]


async def snapshot(h: Harness) -> list[tuple[object, ...]]:
    rows = []
    for table in ("members", "member_topics", "roles", "invites", "audit_log"):
        rows += [(table, *tuple(r)) for r in await h.storage.db.fetchall(f"SELECT * FROM {table}")]
    return rows


async def make_coordinator(h: Harness, user_id: int, scope: str = "RU-SAM") -> None:
    admin = h.person(ADMIN_ID)
    await admin.send(f"/invite_coordinator {scope}")
    payload = invite_link(admin.last)
    await h.person(user_id).send(f"/start {payload}")


async def test_invite_makes_a_regional_coordinator_once(harness: Harness) -> None:
    await register(harness, 301)
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator sam")
    assert "Самарская область" in admin.last
    assert "ngo_network_test_bot" in admin.last
    assert "по Москве" in admin.last  # the expiry shown with its zone
    payload = invite_link(admin.last)
    p = harness.person(301)
    await p.send(f"/start {payload}")
    assert "координатор региона: <b>Самарская область</b>" in p.last
    member = await harness.storage.members.by_telegram_id(301)
    assert member is not None
    roles = await harness.storage.roles.for_member(member.id)
    assert [(r.role, r.region_code) for r in roles] == [("coordinator", "RU-SAM")]
    # the coordinator's menu now has coordinator commands
    menu = harness.telegram.menu({"chat_id": 301, "type": "chat"})
    assert menu is not None and "members" in menu and "invite_coordinator" not in menu
    # used twice: refused, nothing changes
    await register(harness, 302)
    other = harness.person(302)
    await other.send(f"/start {payload}")
    assert "уже была использована" in other.last
    other_member = await harness.storage.members.by_telegram_id(302)
    assert other_member is not None
    assert await harness.storage.roles.for_member(other_member.id) == []
    audit = [(a.action, a.region_code) for a in await harness.storage.roles.audit()]
    assert audit == [("invite_created", "RU-SAM"), ("role_granted", "RU-SAM")]


async def test_federal_invite_and_invite_before_registration(harness: Harness) -> None:
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator all")
    assert "все регионы" in admin.last
    payload = invite_link(admin.last)
    newcomer = harness.person(303)
    await newcomer.send(f"/start {payload}")
    assert any("Сначала пройдите короткую регистрацию" in t for t in newcomer.texts)
    await newcomer.tap("Даю согласие")
    await newcomer.send("Ольга")
    await newcomer.send("Федеральный центр")
    await newcomer.tap("Центральный")
    await newcomer.tap("Москва")
    await newcomer.tap("Правозащита")
    await newcomer.tap("Готово")
    await newcomer.tap("Всё верно")
    assert any("федеральный координатор" in t for t in newcomer.texts)
    member = await harness.storage.members.by_telegram_id(303)
    assert member is not None
    assert [r.region_code for r in await harness.storage.roles.for_member(member.id)] == ["*"]


async def test_expired_and_forged_invites_grant_nothing(harness: Harness) -> None:
    await register(harness, 304)
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator RU-TA")
    payload = invite_link(admin.last)
    harness.clock.advance(hours=72, seconds=1)
    p = harness.person(304)
    await p.send(f"/start {payload}")
    assert "Срок действия приглашения истёк" in p.last
    await p.send("/start inv_forgedforgedforgedforged12")
    assert "не распознана" in p.last
    await p.send("/start inv_" + "x" * 300)
    member = await harness.storage.members.by_telegram_id(304)
    assert member is not None
    assert await harness.storage.roles.for_member(member.id) == []


async def test_invite_with_a_wrong_region_and_usage(harness: Harness) -> None:
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator")
    assert "Как пригласить координатора" in admin.last
    await admin.send("/invite_coordinator Narnia")
    assert "Не знаю такого региона" in admin.last
    assert await harness.storage.db.fetchall("SELECT * FROM invites") == []


async def test_coordinators_list_and_revoke_with_confirmation(harness: Harness) -> None:
    await register(harness, 305, name="Борис Борисов")
    await make_coordinator(harness, 305, "RU-SAM")
    admin = harness.person(ADMIN_ID)
    await admin.send("/coordinators")
    assert "Самарская область" in admin.last and "Борис Борисов" in admin.last
    await admin.send("/revoke")
    await admin.tap("Борис Борисов")
    assert "Снять роль координатора (Самарская область)" in admin.last
    await admin.tap("Нет")
    assert "роль остаётся" in admin.last
    member = await harness.storage.members.by_telegram_id(305)
    assert member is not None
    assert len(await harness.storage.roles.for_member(member.id)) == 1
    role_id = (await harness.storage.roles.for_member(member.id))[0].id
    await admin.send(f"/revoke {role_id}")
    confirmation = admin.last_message_with_buttons()["message_id"]
    await admin.tap("Да, снять роль")
    assert "снята: Борис Борисов" in admin.last
    assert await harness.storage.roles.for_member(member.id) == []
    assert "снята администратором" in harness.person(305).last
    # a double tap on the old confirmation changes nothing more
    await admin.press(f"rvk:{role_id}:yes", message_id=confirmation)
    assert "её уже сняли" in admin.alerts()[-1]
    actions = [a.action for a in await harness.storage.roles.audit()]
    assert actions == ["invite_created", "role_granted", "role_revoked"]


async def test_members_and_stats_counts(harness: Harness) -> None:
    await register(harness, 306)
    await register(harness, 307)
    await make_coordinator(harness, 306, "RU-SAM")
    await harness.storage.members.set_reachable(307, False, harness.clock())
    admin = harness.person(ADMIN_ID)
    await admin.send("/members")
    assert "Приволжский федеральный округ" in admin.last
    assert "Самарская область: 1 активный, недоступны: 1" in admin.last
    await admin.send("/stats")
    assert "1 активный участник" in admin.last
    assert "Регионов с участниками: 1 из 86" in admin.last
    assert "региональных — 1" in admin.last
    coordinator = harness.person(306)
    await coordinator.send("/members")
    assert "Самарская область" in coordinator.last
    await coordinator.send("/stats")
    assert "только администраторам" in coordinator.last


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_admin_commands_refused_to_members_and_strangers(
    harness: Harness, command: str
) -> None:
    await register(harness, 308)
    await make_coordinator(harness, 308, "RU-SAM")
    before = await snapshot(harness)
    for user_id in (308, 309):  # a coordinator-member, a stranger
        p = harness.person(user_id)
        await p.send(command)
        assert "только администраторам" in p.last, (command, user_id, p.last)
    assert await snapshot(harness) == before


async def test_members_command_refused_to_plain_members(harness: Harness) -> None:
    await register(harness, 310)
    p = harness.person(310)
    await p.send("/members")
    assert "только координаторам" in p.last


async def test_forged_revoke_buttons_by_a_member(harness: Harness) -> None:
    await register(harness, 311)
    await make_coordinator(harness, 311, "RU-SAM")
    before = await snapshot(harness)
    p = harness.person(311)
    for data in ("rvk:1:yes", "rvk:1", "rvk:no", "rvk:x:yes"):
        await p.press(data, message_id=1)
    assert len(p.alerts()) == 4
    assert all("только администраторам" in a for a in p.alerts())
    assert await snapshot(harness) == before


async def test_menus_per_role_and_language(harness: Harness) -> None:
    default = {"type": "all_private_chats"}
    assert harness.telegram.menu(default, "") == ["start", "help"]
    assert harness.telegram.menu(default, "en") == ["start", "help"]
    admin_menu = harness.telegram.menu({"chat_id": ADMIN_ID, "type": "chat"})
    assert admin_menu is not None and "invite_coordinator" in admin_menu
    await register(harness, 312)
    assert harness.telegram.menu({"chat_id": 312, "type": "chat"}) == [
        "report",
        "status",
        "events",
        "me",
        "settings",
        "help",
        "mydata",
        "forget",
        "cancel",
    ]


async def test_invite_for_a_role_already_held_is_not_used_up(harness: Harness) -> None:
    await register(harness, 313)
    await make_coordinator(harness, 313, "RU-SAM")
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator RU-SAM")
    payload = invite_link(admin.last)
    p = harness.person(313)
    await p.send(f"/start {payload}")
    assert "уже есть эта роль" in p.last
    await register(harness, 314)
    await harness.person(314).send(f"/start {payload}")
    assert "координатор региона" in harness.person(314).last


async def test_invite_of_someone_no_longer_admin_grants_nothing(
    harness: Harness, settings: Settings
) -> None:
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator all")
    payload = invite_link(admin.last)
    harness.app.bot_data.settings = settings.model_copy(update={"admin_ids": frozenset()})
    await register(harness, 315)
    p = harness.person(315)
    await p.send(f"/start {payload}")
    assert "больше не действует" in p.last
    member = await harness.storage.members.by_telegram_id(315)
    assert member is not None and await harness.storage.roles.for_member(member.id) == []


async def test_revoking_from_someone_who_blocked_the_bot(harness: Harness) -> None:
    await register(harness, 316, name="Вера")
    await make_coordinator(harness, 316, "RU-SAM")
    member = await harness.storage.members.by_telegram_id(316)
    assert member is not None
    role_id = (await harness.storage.roles.for_member(member.id))[0].id
    harness.telegram.fail("sendMessage", chat_id=316)
    admin = harness.person(ADMIN_ID)
    await admin.send(f"/revoke {role_id}")
    await admin.tap("Да, снять роль")
    assert "снята: Вера" in admin.last
    member = await harness.storage.members.by_telegram_id(316)
    assert member is not None and member.status == "unreachable"
    assert not any("Ошибка в боте" in c.params.get("text", "") for c in harness.telegram.sent())


async def test_menu_of_an_admin_who_has_not_registered(harness: Harness) -> None:
    menu = harness.telegram.menu({"chat_id": ADMIN_ID, "type": "chat"})
    assert menu == [
        "start",
        "help",
        "incidents",
        "incident",
        "export_incidents",
        "guide",
        "invite_coordinator",
        "coordinators",
        "revoke",
        "members",
        "stats",
    ]


@pytest.mark.parametrize("how", ["used", "expired", "forged", "cut off", "admin gone"])
async def test_an_invite_that_does_not_work_is_said_before_the_form(
    harness: Harness, how: str
) -> None:
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator RU-SAM")
    payload = invite_link(admin.last)
    expected = {
        "used": "уже была использована",
        "expired": "Срок действия приглашения истёк",
        "forged": "не распознана",
        "cut off": "не распознана",
        "admin gone": "его создал человек, который уже не администратор",
    }[how]
    if how == "used":
        await register(harness, 310)
        await harness.person(310).send(f"/start {payload}")
    elif how == "expired":
        harness.clock.advance(hours=72, seconds=1)
    elif how == "forged":
        payload = "inv_forgedforgedforgedforged12"
    elif how == "cut off":
        payload = payload[:12] + "%"
    else:  # made by someone who is no longer an admin
        await harness.storage.db.execute("UPDATE invites SET created_by = 1")
    newcomer = harness.person(311)
    await newcomer.send(f"/start {payload}")
    # at once, before any question of the form, and ordinary registration is offered
    first = newcomer.texts[0]
    assert expected in first and "Зарегистрироваться можно и без приглашения" in first
    assert not any("Сначала пройдите короткую регистрацию" in t for t in newcomer.texts)
    assert "Согласие на обработку данных" in newcomer.last
    assert await harness.storage.dialogs.get(311) is None  # still nothing stored
    await newcomer.tap("Даю согласие")
    dialog = await harness.storage.dialogs.get(311)
    assert dialog is not None and "invite" not in dialog.data  # an ordinary registration
    await newcomer.send("Ольга")
    await newcomer.send("Самарский центр")
    await newcomer.tap("Приволжский")
    await newcomer.tap("Самарская область")
    await newcomer.tap("Образование")
    await newcomer.tap("Готово")
    await newcomer.tap("Всё верно")
    member = await harness.storage.members.by_telegram_id(311)
    assert member is not None
    assert await harness.storage.roles.for_member(member.id) == []
    assert sum(expected in t for t in newcomer.texts) == 1  # not told again at the end


async def test_an_invite_opened_in_the_middle_of_the_form_joins_it(harness: Harness) -> None:
    """A draft kept for days meets an invite: the form goes on where it stopped (no second
    consent screen whose button would no longer work), and the role comes when it is done."""
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator RU-SAM")
    payload = invite_link(admin.last)
    p = harness.person(313)
    await p.send("/start")
    await p.tap("Даю согласие")
    await p.send("Ольга")
    await p.send(f"/start {payload}")
    assert "Приглашение координатора учтено" in p.last and "организация" in p.last
    assert not any("Согласие на обработку данных" in t for t in p.texts[-2:])
    await p.send("НКО «Дружба»")
    await p.tap("Приволжский")
    await p.tap("Самарская область")
    await p.tap("Образование")
    await p.tap("Готово")
    await p.tap("Всё верно")
    member = await harness.storage.members.by_telegram_id(313)
    assert member is not None and member.name == "Ольга"
    roles = await harness.storage.roles.for_member(member.id)
    assert [(r.role, r.region_code) for r in roles] == [("coordinator", "RU-SAM")]


async def test_a_bad_invite_in_the_middle_of_the_form_continues_it(harness: Harness) -> None:
    p = harness.person(312)
    await p.send("/start")
    await p.tap("Даю согласие")
    await p.send("Ольга")
    await p.send("/start inv_forgedforgedforgedforged12")
    assert "не распознана" in p.texts[-2]
    assert "Продолжим с того места" in p.last and "организация" in p.last
    dialog = await harness.storage.dialogs.get(312)
    assert dialog is not None and dialog.data["name"] == "Ольга"
