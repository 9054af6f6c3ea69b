"""The permission matrix: every command and every button prefix the application registers,
tried by people who may not use it. Each gets a clear answer and the database stays as it was.
A command or prefix added to the application without an entry here fails the test."""

from __future__ import annotations

import re
from typing import Any

from telegram.ext import CallbackQueryHandler, CommandHandler

from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_events import create_event, join
from tests.test_incidents import REPORTER, network, report
from tests.test_registration import register

OTHER_COORDINATOR, MOSCOW_MEMBER, STRANGER = 5001, 5002, 5003

# who may use a command: guest (anyone), member, coordinator (any region), region (a
# coordinator of the object's region, the object given as an argument), admin, group (only in a
# group chat, by its admins)
COMMANDS: dict[str, str] = {
    "start": "guest",
    "help": "guest",
    "cancel": "guest",
    "me": "member",
    "settings": "member",
    "mydata": "member",
    "events": "member",
    "forget": "member",
    "report": "member",
    "status": "member",
    "new_event": "coordinator",
    "event": "region",
    "broadcast": "coordinator",
    "incidents": "coordinator",
    "incident": "region",
    "export_incidents": "coordinator",
    "evaluation": "region",
    "evaluations": "coordinator",
    "signup_link": "coordinator",
    "guide": "coordinator",
    "members": "coordinator",
    "link_region": "group",
    "unlink_region": "group",
    "invite_coordinator": "admin",
    "coordinators": "admin",
    "revoke": "admin",
    "stats": "admin",
}

# button prefixes: (forged data to press, who may press it). "dialog": only on the current
# question of one's own open dialogue; "participant": only someone asked to evaluate;
# "code": whoever holds the receipt code (a wrong code is tried)
BUTTONS: dict[str, tuple[str, str]] = {
    "reg": ("reg:consent:yes", "dialog"),
    "set": ("set:name", "dialog"),
    "rgd": ("rgd:resume", "dialog"),  # a registration draft's reminder: tests/test_drafts.py
    "dlg": ("dlg:cancel", "dialog"),
    "evt": ("evt:publish", "dialog"),
    "bc": ("bc:send", "dialog"),
    "rep": ("rep:send", "dialog"),
    "rpx": ("rpx:cat:threats", "dialog"),  # the details after a fast report (#13)
    "ev": ("ev:{event}:going", "region_member"),
    "evl": ("evl:2", "member"),
    "evm": ("evm:{event}:cancel_yes", "region"),
    "inc": ("inc:{incident}:ack", "region"),
    "incl": ("incl:card:{incident}", "region"),
    "ist": ("ist:ZZ-ZZZZZ:withdraw_yes", "code"),
    "eva": ("eva:{event}:m:0:5", "participant"),
    "evr": ("evr:{event}:mx", "region"),
    "evs": ("evs:20261101:20261130:x", "coordinator"),
    "gd": ("gd:0", "coordinator"),
    "fgt": ("fgt:yes", "member"),
    "rvk": ("rvk:1:yes", "admin"),
    "apv": ("apv:1:no", "region"),  # a waiting member's card: tests/test_approval.py too
}

# who is refused, by the role a command or button needs
REFUSED = {
    "member": ("stranger",),
    "coordinator": ("stranger", "member"),
    "region": ("stranger", "member", "other"),
    "admin": ("stranger", "member", "other"),
    "group": ("stranger", "member", "other"),
    "dialog": ("stranger", "member", "other"),
    "region_member": ("stranger", "member"),
    "participant": ("stranger", "member", "other"),
    "code": ("stranger", "member", "other"),
}
PEOPLE = {"stranger": STRANGER, "member": MOSCOW_MEMBER, "other": OTHER_COORDINATOR}


def registered(h: Harness) -> tuple[set[str], set[str]]:
    """Commands and button prefixes as the application itself registers them."""
    commands: set[str] = set()
    prefixes: set[str] = set()
    for handlers in h.app.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                commands |= set(handler.commands)
            elif isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
                pattern = getattr(handler.pattern, "pattern", handler.pattern)
                match = re.fullmatch(r"\^\(?([a-z|]+)\)?:", str(pattern))
                assert match, f"a button pattern the matrix cannot read: {pattern}"
                prefixes |= set(match[1].split("|"))
    return commands, prefixes


async def snapshot(h: Harness) -> dict[str, list[tuple[Any, ...]]]:
    # guard_counters: a forged receipt code is counted as a wrong guess, on purpose
    tables = await h.storage.db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND name NOT IN ('processed_updates', 'guard_counters')"
    )
    return {
        t[0]: [tuple(r) for r in await h.storage.db.fetchall(f"SELECT * FROM {t[0]}")]
        for t in tables
    }


async def test_every_command_and_button_has_an_entry(harness: Harness) -> None:
    commands, prefixes = registered(harness)
    assert commands == set(COMMANDS), "add the new command to the permission matrix"
    assert prefixes == set(BUTTONS), "add the new button prefix to the permission matrix"


async def test_nobody_gets_what_their_role_does_not_allow(harness: Harness) -> None:
    await network(harness)  # a coordinator of Samara, a federal one, a member who reports
    code = await report(harness, REPORTER)
    assert code
    await register(harness, OTHER_COORDINATOR)
    await make_coordinator(harness, OTHER_COORDINATOR, "RU-MOW")
    await join(harness, MOSCOW_MEMBER, "Центральный", "Москва", "Образование")

    event_id = await create_event(harness, 2001)
    incident_id = 1
    await harness.deliver()
    objects = {"event": event_id, "incident": incident_id}
    before = await snapshot(harness)
    for command, role in COMMANDS.items():
        for who in REFUSED.get(role, ()):
            person = harness.person(PEOPLE[who])
            calls = len(harness.telegram.calls)
            argument = f" {objects['incident' if 'incident' in command else 'event']}"
            await person.send(f"/{command}{argument if role == 'region' else ''}")
            answers = [
                c
                for c in harness.telegram.calls[calls:]
                if c.method == "sendMessage" and c.params.get("chat_id") == PEOPLE[who]
            ]
            assert answers, f"/{command} by {who}: no answer"
            assert "Traceback" not in str(answers[-1].params.get("text"))
            await harness.deliver()
            assert await snapshot(harness) == before, f"/{command} by {who} changed the database"
    for prefix, (data, role) in BUTTONS.items():
        for who in REFUSED.get(role, ()):
            person = harness.person(PEOPLE[who])
            calls = len(harness.telegram.calls)
            await person.press(data.format(**objects), message_id=1)
            alerts = [
                c
                for c in harness.telegram.calls[calls:]
                if c.method == "answerCallbackQuery" and c.params.get("text")
            ]
            assert alerts, f"{prefix} by {who}: no clear answer"
            await harness.deliver()
            assert await snapshot(harness) == before, f"{prefix} by {who} changed the database"
    # and the admin-only ones by a coordinator of the very region
    samara = harness.person(2001)
    for command, role in COMMANDS.items():
        if role == "admin":
            await samara.send(f"/{command}")
            assert "администратор" in samara.last.lower(), command
    assert await snapshot(harness) == before
