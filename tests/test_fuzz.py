"""Property-based: thousands of random texts, commands with random arguments, random and forged
button data, edited messages, messages in groups and channels, unknown kinds of updates. None
of them may raise, show anyone a traceback, or store what should not be stored."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.i18n import t
from tests import factories
from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_permissions import BUTTONS, COMMANDS
from tests.test_registration import register

MEMBER, COORDINATOR, STRANGER = 6001, 6002, 6003
RUNS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_ids = itertools.count(10_000_000)

words = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=0, max_size=60)
texts = st.one_of(
    words,
    st.text(max_size=5000),
    st.sampled_from(["отмена", "назад", "да", "Согласен", "5", "25.12 14:00", "/", "//", " "]),
)
commands = st.builds(
    lambda name, args: f"/{name} {args}".strip(),
    st.one_of(st.sampled_from(sorted(COMMANDS)), st.from_regex(r"[a-z_]{1,20}", fullmatch=True)),
    words,
)
prefixes = sorted(BUTTONS)
button_data = st.one_of(
    st.text(max_size=64),
    st.builds(
        lambda prefix, parts: ":".join([prefix, *parts])[:64],
        st.sampled_from(prefixes),
        st.lists(
            st.one_of(
                st.from_regex(r"-?[0-9]{1,25}", fullmatch=True),
                st.sampled_from(["ack", "yes", "m", "f", "x", "main", "²", "٣", "s", "go"]),
                words,
            ),
            max_size=5,
        ),
    ),
)


@pytest.fixture
async def world(harness: Harness) -> Harness:
    """A member, a coordinator of Samara, and a collector of every unhandled error."""
    await register(harness, MEMBER)
    await register(harness, COORDINATOR)
    await make_coordinator(harness, COORDINATOR, "RU-SAM")
    errors: list[object] = []

    async def collect(update: object, context: Any) -> None:
        errors.append(context.error)

    harness.app.add_error_handler(collect)
    harness.errors = errors  # type: ignore[attr-defined]
    return harness


def check(h: Harness) -> None:
    errors = h.errors  # type: ignore[attr-defined]
    assert not errors, errors
    generic = t("ru", "error.generic")
    for call in h.telegram.calls:
        text = str(call.params.get("text", ""))
        assert "Traceback" not in text and generic not in text, text


async def process(h: Harness, data: dict[str, Any]) -> None:
    data = {"update_id": next(_ids), **data}
    await h.app.process_update(Update.de_json(data, h.app.bot))


@RUNS
@given(who=st.sampled_from([MEMBER, COORDINATOR, STRANGER]), text=texts)
async def test_random_texts(world: Harness, who: int, text: str) -> None:
    await world.person(who).send(text)
    check(world)
    assert await world.storage.members.by_telegram_id(STRANGER) is None


@RUNS
@given(who=st.sampled_from([MEMBER, COORDINATOR, STRANGER]), command=commands)
async def test_commands_with_random_arguments(world: Harness, who: int, command: str) -> None:
    await world.person(who).send(command)
    check(world)
    assert not await world.storage.db.fetchall("SELECT * FROM incidents")
    assert not await world.storage.db.fetchall("SELECT * FROM events")


@RUNS
@given(who=st.sampled_from([MEMBER, COORDINATOR, STRANGER]), data=button_data)
async def test_random_and_forged_buttons(world: Harness, who: int, data: str) -> None:
    await world.person(who).press(data, message_id=1)
    check(world)
    assert not await world.storage.db.fetchall("SELECT * FROM incidents")
    assert await world.storage.members.by_telegram_id(STRANGER) is None


@RUNS
@given(
    who=st.sampled_from([MEMBER, COORDINATOR, STRANGER]),
    text=st.one_of(texts, commands),
    kind=st.sampled_from(["group", "supergroup", "channel"]),
)
async def test_groups_and_channels(world: Harness, who: int, text: str, kind: str) -> None:
    user = world.person(who).user
    chat = factories.chat_dict(-next(_ids), kind)  # new each time: no 20/min wait
    message = factories.message_dict(user, text, chat=chat)
    if kind == "channel":
        message.pop("from", None)
        await process(world, {"channel_post": message})
    else:
        await process(world, {"message": message})
    check(world)
    assert not await world.storage.db.fetchall("SELECT * FROM region_groups")


@RUNS
@given(
    who=st.sampled_from([MEMBER, COORDINATOR, STRANGER]),
    text=texts,
    kind=st.sampled_from(
        [
            "edited_message",
            "edited_channel_post",
            "inline_query",
            "my_chat_member",
            "message_reaction",
        ]
    ),
)
async def test_edited_messages_and_other_kinds_of_updates(
    world: Harness, who: int, text: str, kind: str
) -> None:
    user = world.person(who).user
    if kind == "edited_message":
        message = factories.message_dict(user, text)
        message["edit_date"] = message["date"]
        await process(world, {kind: message})
    elif kind == "edited_channel_post":
        message = factories.message_dict(
            user, text, chat=factories.chat_dict(-next(_ids), "channel")
        )
        message.pop("from", None)
        message["edit_date"] = message["date"]
        await process(world, {kind: message})
    elif kind == "inline_query":  # the bot has no inline mode: nothing to do, no error
        await process(world, {kind: {"id": "q1", "from": user, "query": text[:256], "offset": ""}})
    elif kind == "message_reaction":
        reaction = {
            "chat": factories.chat_dict(who),
            "message_id": 1,
            "user": user,
            "date": 0,
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}],
        }
        await process(world, {"message_reaction": reaction})
    else:
        member = {"user": {"id": 1, "is_bot": True, "first_name": "bot"}, "status": "member"}
        change = {
            "chat": factories.chat_dict(-next(_ids), "group"),
            "from": user,
            "date": 0,
            "old_chat_member": {**member, "status": "left"},
            "new_chat_member": member,
        }
        await process(world, {"my_chat_member": change})
    check(world)
