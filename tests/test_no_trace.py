"""Nothing is stored before consent (#12): a stranger who opens the bot, taps around, types,
follows a region link, a coordinator's sign-up link and an invite link, and walks away leaves
no trace of their Telegram id in any table or column of the database."""

from __future__ import annotations

import re

from tests.conftest import Harness
from tests.test_admin import ADMIN_ID, invite_link, make_coordinator
from tests.test_events import create_event
from tests.test_registration import register

STRANGER = 987_654_321
NAME = "Zxqwerty"


async def traces(h: Harness, needles: tuple[object, ...]) -> list[str]:
    """Every table.column that holds one of the needles (as a value or inside a text)."""
    found: list[str] = []
    tables = await h.storage.db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for (table,) in tables:
        columns = await h.storage.db.fetchall(f"PRAGMA table_info({table})")
        for column in columns:
            name = column["name"]
            for needle in needles:
                row = await h.storage.db.fetchone(
                    f'SELECT COUNT(*) FROM "{table}" WHERE "{name}" = ?'
                    f' OR CAST("{name}" AS TEXT) LIKE ?',
                    (needle, f"%{needle}%"),
                )
                if row is not None and row[0]:
                    found.append(f"{table}.{name} ({needle})")
    return found


async def test_a_stranger_who_walks_away_leaves_no_trace(harness: Harness) -> None:
    await register(harness, 601)
    await make_coordinator(harness, 601, "RU-SAM")
    event_id = await create_event(harness, 601)
    await harness.deliver()
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator sam")
    invite = invite_link(admin.last)
    coordinator = harness.person(601)
    await coordinator.send("/signup_link")
    signup = re.search(r"start=(s_[A-Za-z0-9_-]+)", coordinator.last)
    assert signup
    checkin = await harness.storage.db.fetchone(
        "SELECT checkin_secret FROM events WHERE id = ?", (event_id,)
    )
    assert checkin is not None

    p = harness.person(STRANGER, first_name=NAME)
    await p.send("/start")
    assert "Согласие на обработку данных" in p.last
    await p.tap("English")
    assert "Consent to data processing" in p.last
    await p.tap("Русский")
    await p.send("привет")
    assert "выберите ответ кнопкой" in p.last
    await p.send("Согласен")  # typed: asked to tap
    await p.tap("Отмена")
    assert "Регистрация отменена, ничего не сохранено" in p.screen()
    for command in ("/help", "/me", "/events", "/report", "/status AB-CDEFGH", "/mydata"):
        await p.send(command)
    await p.send("/cancel")
    await p.send("/start r_RU-SAM")
    await p.tap("Не даю согласия")
    assert "ничего о вас не сохранили" in p.last
    await p.send(f"/start {invite}")
    assert "Согласие на обработку данных" in p.last
    await p.tap("English")
    await p.send(f"/start {signup[1]}")
    await p.send("/start s_forged")
    await p.send(f"/start ev_{event_id}")
    await p.send(f"/start ci_{event_id}_{checkin[0]}")
    await p.send("/start inv_forged")
    await p.press("reg:consent:yes")  # forged short data: refused, nothing begins
    for forged in ("ev:1:going", "inc:1:ack", "fgt:yes", "dlg:cancel", "reg:topic:edu"):
        await p.press(forged)
    assert p.alerts()
    # and then they walk away: the sweeps run, the day passes
    await harness.deliver()
    harness.clock.advance(hours=3)
    await harness.run_jobs()
    await harness.deliver()

    assert await traces(harness, (STRANGER, NAME)) == []
    # the scan does find them once they agree (the dialogue begins)
    await p.send("/start")
    await p.tap("Даю согласие")
    assert "dialogs.telegram_id (987654321)" in await traces(harness, (STRANGER, NAME))


async def test_the_consent_buttons_carry_the_link(harness: Harness) -> None:
    """What the link said reaches the dialogue through the buttons only, in either language."""
    p = harness.person(602)
    await p.send("/start r_RU-IRK")
    await p.tap("English")
    assert await harness.storage.dialogs.get(602) is None
    await p.tap("I agree")
    dialog = await harness.storage.dialogs.get(602)
    assert dialog is not None and dialog.data["preset"] == "RU-IRK"
    assert dialog.data["lang"] == "en" and dialog.data.get("consent_at")
