"""The guide for coordinators and admins (#13): kept in the repository (bot/data/guide_*.md),
reachable from /help and /guide, a section per message edited in place; members do not get it;
every button it names is a button the bot really shows."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.guide import guide
from bot.i18n import catalog
from tests.conftest import ADMIN_ID, Harness
from tests.test_admin import make_coordinator
from tests.test_registration import register


def values(tree: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for value in tree.values():
        found |= values(value) if isinstance(value, dict) else {str(value)}
    return found


async def test_a_coordinator_finds_the_guide_under_help_and_reads_it(harness: Harness) -> None:
    await register(harness, 601)
    await make_coordinator(harness, 601)
    p = harness.person(601)
    await p.send("/help")
    assert "/guide — руководство" in p.last
    await p.tap("Руководство координатора")
    assert "Руководство координатора и администратора" in p.last
    assert "📖 Пришла карточка обращения" in p.buttons() and "📖 Для администраторов" in p.buttons()
    count = len(p.texts)
    await p.tap("Пришла карточка обращения")
    assert len(p.texts) == count  # edited in place, not a new message
    assert "<b>Пришла карточка обращения</b>" in p.last and "Беру в работу" in p.last
    await p.tap("Дальше")
    assert "Как объявить мероприятие" in p.last and "/new_event" in p.last
    await p.tap("Оглавление")
    assert "Выберите раздел" in p.last


async def test_an_admin_gets_it_in_english_too(harness: Harness) -> None:
    p = harness.person(ADMIN_ID, language_code="en")
    await p.send("/guide")
    assert "A guide for coordinators and admins" in p.last
    await p.tap("For admins")
    assert "/invite_coordinator" in p.last


async def test_a_member_is_not_offered_the_guide_and_is_refused_it(harness: Harness) -> None:
    await register(harness, 602)
    p = harness.person(602)
    await p.send("/help")
    assert "/guide" not in p.last
    help_message = max(m for chat, m in harness.telegram.messages if chat == 602)
    assert not harness.telegram.messages[(602, help_message)].get("reply_markup")
    await p.send("/guide")
    assert "координатор" in p.last and "Руководство координатора и администратора" not in p.last
    await p.press("gd:0", help_message)
    assert "координатор" in p.alerts()[-1] and "Пришла карточка" not in p.last


async def test_forged_guide_buttons_change_nothing(harness: Harness) -> None:
    p = harness.person(ADMIN_ID)
    await p.send("/guide")
    count = len(p.texts)
    for data in ("gd:99", "gd:-1", "gd:x", "gd:1:2", "gd:"):
        await p.press(data)
        assert "кнопка уже не действует" in p.alerts()[-1]
    assert len(p.texts) == count


@pytest.mark.parametrize(("lang", "quoted"), [("ru", r"«([^»]+)»"), ("en", r"\"([^\"]+)\"")])
def test_every_button_the_guide_names_is_a_real_button(lang: str, quoted: str) -> None:
    labels = values(catalog(lang))
    text = "\n".join(body for _heading, body in guide(lang).sections)
    named = [q for q in re.findall(quoted, text) if not q[0].isalnum() and q[0] not in "/<—"]
    assert len(named) >= 6
    assert [q for q in named if q not in labels] == []
