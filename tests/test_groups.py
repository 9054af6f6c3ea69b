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


async def test_removed_bot_and_supergroup_migration(harness: Harness) -> None:
    await register(harness, 1021)
    await make_coordinator(harness, 1021, "RU-SAM")
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
