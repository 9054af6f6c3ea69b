"""Regional group chats: linking, announcements posted there, the bot removed, migration."""

from __future__ import annotations

from tests import factories
from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_events import create_event, join
from tests.test_registration import register

GROUP = -100555


async def add_bot_to_group(h: Harness, by: int, group: int = GROUP) -> None:
    chat = factories.chat_dict(group, "supergroup")
    update = factories.my_chat_member_update(
        h.app.bot, factories.user_dict(by), "left", "member", chat=chat
    )
    await h.app.process_update(update)


def group_texts(h: Harness, group: int = GROUP) -> list[str]:
    return [str(c.params.get("text")) for c in h.telegram.sent(chat_id=group)]


async def test_a_linked_group_receives_the_regions_announcements(harness: Harness) -> None:
    await register(harness, 1001)
    await make_coordinator(harness, 1001, "RU-SAM")
    await add_bot_to_group(harness, 1001)
    assert "/link_region" in group_texts(harness)[-1]
    harness.telegram.set_member(GROUP, 1001, "administrator")
    c = harness.person(1001)
    await c.send_in_group("/link_region sam", GROUP)
    assert "связана с регионом «Самарская область»" in group_texts(harness)[-1]
    await join(harness, 1002, "Приволжский", "Самарская область", "Образование")
    event_id = await create_event(harness, 1001)
    await harness.deliver()
    posted = [c for c in harness.telegram.sent(chat_id=GROUP) if "Семинар" in str(c.params)]
    assert len(posted) == 1
    # a member answers from the group's copy: their answer is theirs, the buttons stay as they are
    message = harness.telegram.messages[
        (
            GROUP,
            int(posted[0].params.get("message_id", 0))
            or max(mid for (chat, mid) in harness.telegram.messages if chat == GROUP),
        )
    ]
    update = factories.callback_update(
        harness.app.bot, factories.user_dict(1002), f"ev:{event_id}:going", message
    )
    await harness.app.process_update(update)
    assert await harness.storage.events.answer_of(event_id, 2) == "going"
    assert not harness.telegram.sent("editMessageReplyMarkup", chat_id=GROUP)


async def test_linking_needs_a_coordinator_of_that_region_in_a_group(harness: Harness) -> None:
    await register(harness, 1011)
    member = harness.person(1011)
    await member.send_in_group("/link_region sam", GROUP)
    assert (
        "только координатор" in group_texts(harness)[-1]
        or "только координаторам" in (group_texts(harness)[-1])
    )
    await make_coordinator(harness, 1011, "RU-SAM")
    await member.send_in_group("/link_region RU-IRK", GROUP)
    assert "только координатор этого региона" in group_texts(harness)[-1]
    await member.send_in_group("/link_region Нарния", GROUP)
    assert "Не знаю такого региона" in group_texts(harness)[-1]
    await member.send("/link_region sam")
    assert "в группе региона" in member.last
    assert await harness.storage.groups.get(GROUP) is None
    assert not harness.telegram.sent("getChatMember")  # Telegram asked only once a role allows


async def test_a_coordinator_who_administers_the_group_links_and_unlinks_it(
    harness: Harness,
) -> None:
    await register(harness, 1041)
    await make_coordinator(harness, 1041, "RU-SAM")
    harness.telegram.set_member(GROUP, 1041, "administrator")
    c = harness.person(1041)
    await c.send_in_group("/link_region sam", GROUP)
    assert "связана с регионом «Самарская область»" in group_texts(harness)[-1]
    asked = harness.telegram.sent("getChatMember")[-1].params
    assert (int(asked["chat_id"]), int(asked["user_id"])) == (GROUP, 1041)
    group = await harness.storage.groups.get(GROUP)
    assert group is not None and group.region_code == "RU-SAM"
    await c.send_in_group("/unlink_region", GROUP)
    assert "больше не связана с регионом «Самарская область»" in group_texts(harness)[-1]
    assert await harness.storage.groups.get(GROUP) is None
    # the group's owner counts as its administrator
    harness.telegram.set_member(GROUP, 1041, "creator")
    await c.send_in_group("/link_region sam", GROUP)
    assert await harness.storage.groups.get(GROUP) is not None


async def snapshot_groups(h: Harness) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await h.storage.db.fetchall("SELECT * FROM region_groups")]


async def test_a_coordinator_who_does_not_administer_the_group_is_refused(
    harness: Harness,
) -> None:
    await register(harness, 1051)
    await make_coordinator(harness, 1051, "RU-SAM")
    c = harness.person(1051)
    for status in ("member", "left", "kicked"):
        harness.telegram.set_member(GROUP, 1051, status)
        await c.send_in_group("/link_region sam", GROUP)
        assert "который также администратор этой группы" in group_texts(harness)[-1], status
        assert await harness.storage.groups.get(GROUP) is None
    # linked by its administrator; an ordinary member who coordinates the region cannot unlink
    await register(harness, 1052)
    await make_coordinator(harness, 1052, "RU-SAM")
    harness.telegram.set_member(GROUP, 1052, "administrator")
    await harness.person(1052).send_in_group("/link_region sam", GROUP)
    before = await snapshot_groups(harness)
    harness.telegram.set_member(GROUP, 1051, "member")
    await c.send_in_group("/unlink_region", GROUP)
    assert "который также администратор этой группы" in group_texts(harness)[-1]
    await c.send_in_group("/link_region sam", GROUP)  # nor link it anew
    assert "который также администратор этой группы" in group_texts(harness)[-1]
    assert await snapshot_groups(harness) == before and before


async def test_a_group_administrator_who_does_not_coordinate_the_region_is_refused(
    harness: Harness,
) -> None:
    await register(harness, 1061)
    await make_coordinator(harness, 1061, "RU-MOW")
    harness.telegram.set_member(GROUP, 1061, "creator")
    admin_of_group = harness.person(1061)
    await admin_of_group.send_in_group("/link_region sam", GROUP)
    assert "только координатор этого региона" in group_texts(harness)[-1]
    await register(harness, 1062)  # a member who runs the group
    harness.telegram.set_member(GROUP, 1062, "administrator")
    await harness.person(1062).send_in_group("/link_region sam", GROUP)
    assert "только координатор" in group_texts(harness)[-1]
    assert await harness.storage.groups.get(GROUP) is None
    # linked by Samara's coordinator; Moscow's coordinator, the group's owner, cannot unlink it
    await register(harness, 1063)
    await make_coordinator(harness, 1063, "RU-SAM")
    harness.telegram.set_member(GROUP, 1063, "administrator")
    await harness.person(1063).send_in_group("/link_region sam", GROUP)
    before = await snapshot_groups(harness)
    await admin_of_group.send_in_group("/unlink_region", GROUP)
    assert "только координатор этого региона" in group_texts(harness)[-1]
    assert await snapshot_groups(harness) == before and before
    # nor point it at Moscow instead
    await admin_of_group.send_in_group("/link_region mow", GROUP)
    assert "только координатор этого региона" in group_texts(harness)[-1]
    assert await snapshot_groups(harness) == before


async def test_when_telegram_cannot_tell_the_answer_is_polite_and_nothing_changes(
    harness: Harness,
) -> None:
    await register(harness, 1071)
    await make_coordinator(harness, 1071, "RU-SAM")
    harness.telegram.set_member(GROUP, 1071, "administrator")
    c = harness.person(1071)
    harness.telegram.fail("getChatMember", code=400, description="Bad Request: chat not found")
    await c.send_in_group("/link_region sam", GROUP)
    assert "Не удалось узнать у Telegram" in group_texts(harness)[-1]
    assert await harness.storage.groups.get(GROUP) is None
    # a passing fault is tried again (three times in all); then the same polite answer
    harness.telegram.fail("getChatMember", code=502, description="Bad Gateway", times=3)
    await c.send_in_group("/link_region sam", GROUP)
    assert "Не удалось узнать у Telegram" in group_texts(harness)[-1]
    assert await harness.storage.groups.get(GROUP) is None
    harness.telegram.time_out("getChatMember", times=3)
    await c.send_in_group("/link_region sam", GROUP)
    assert "Не удалось узнать у Telegram" in group_texts(harness)[-1]
    # once Telegram answers, the link is made; unlinking meets the same refusal and keeps it
    await c.send_in_group("/link_region sam", GROUP)
    before = await snapshot_groups(harness)
    assert before
    harness.telegram.fail("getChatMember", code=403, description="Forbidden: bot was kicked")
    await c.send_in_group("/unlink_region", GROUP)
    assert "Не удалось узнать у Telegram" in group_texts(harness)[-1]
    assert await snapshot_groups(harness) == before


async def test_refusals_in_english(harness: Harness) -> None:
    await join(harness, 1081, "Volga", "Samara Oblast", "Education", lang="en")
    await make_coordinator(harness, 1081, "RU-SAM")
    en = harness.person(1081, language_code="en")
    await en.send_in_group("/link_region sam", GROUP)
    assert "also an administrator of this group" in group_texts(harness)[-1]
    harness.telegram.set_member(GROUP, 1081, "administrator")
    harness.telegram.fail("getChatMember", code=500, description="Internal Server Error", times=3)
    await en.send_in_group("/link_region sam", GROUP)
    assert "could not find out from Telegram" in group_texts(harness)[-1]
    assert await harness.storage.groups.get(GROUP) is None


async def test_removed_bot_and_supergroup_migration(harness: Harness) -> None:
    await register(harness, 1021)
    await make_coordinator(harness, 1021, "RU-SAM")
    harness.telegram.set_member(GROUP, 1021, "creator")
    c = harness.person(1021)
    await c.send_in_group("/link_region sam", GROUP)
    # the group becomes a supergroup with a new id
    old = factories.chat_dict(GROUP, "group")
    migrate = factories.message_update(
        harness.app.bot, factories.user_dict(1021), None, chat=old, migrate_to_chat_id=-100777
    )
    await harness.app.process_update(migrate)
    assert await harness.storage.groups.get(GROUP) is None
    group = await harness.storage.groups.get(-100777)
    assert group is not None and group.region_code == "RU-SAM"
    # the bot is removed: nothing more is posted there
    update = factories.my_chat_member_update(
        harness.app.bot,
        factories.user_dict(1021),
        "member",
        "left",
        chat=factories.chat_dict(-100777, "supergroup"),
    )
    await harness.app.process_update(update)
    await create_event(harness, 1021)
    await harness.deliver()
    assert not harness.telegram.sent(chat_id=-100777)


async def test_delivery_follows_a_group_that_migrated(harness: Harness) -> None:
    await register(harness, 1031)
    await make_coordinator(harness, 1031, "RU-SAM")
    harness.telegram.set_member(GROUP, 1031, "administrator")
    await harness.person(1031).send_in_group("/link_region sam", GROUP)
    harness.telegram.fail(
        "sendMessage",
        code=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        chat_id=GROUP,
        migrate_to=-100888,
    )
    await create_event(harness, 1031)
    await harness.deliver()
    assert [c for c in harness.telegram.sent(chat_id=-100888) if "Семинар" in str(c.params)]
    group = await harness.storage.groups.get(-100888)
    assert group is not None and group.region_code == "RU-SAM"


async def test_an_anonymous_administrator_is_asked_to_show_themselves(harness: Harness) -> None:
    """An administrator who posts anonymously writes as the group (from GroupAnonymousBot)."""
    await register(harness, 1091)
    await make_coordinator(harness, 1091, "RU-SAM")
    chat = factories.chat_dict(GROUP, "supergroup")
    anonymous = {
        "id": 1087968824,
        "is_bot": True,
        "first_name": "Group",
        "username": "GroupAnonymousBot",
    }
    for command in ("/link_region sam", "/unlink_region"):
        update = factories.message_update(
            harness.app.bot, anonymous, command, chat=chat, sender_chat=chat
        )
        await harness.app.process_update(update)
        assert "от имени группы (анонимно)" in group_texts(harness)[-1]
    assert await harness.storage.groups.get(GROUP) is None
    assert not harness.telegram.sent("getChatMember")
