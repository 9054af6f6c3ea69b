"""Members are vetted (#12, MEMBER_APPROVAL): a new member waits for a coordinator of their
region, who accepts or declines them on a card; until then they can ask for help but see no
events. A coordinator's own sign-up link approves at once; the plain region link does not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.settings import Settings, load_settings
from storage.clock import to_db
from storage.db import Storage
from tests.conftest import ADMIN_ID, START, Harness, Person, flow_settings
from tests.fake_telegram import TOKEN
from tests.test_admin import make_coordinator
from tests.test_events import create_event, join
from tests.test_permissions import snapshot
from tests.test_registration import register

COORDINATOR, NEWCOMER, MOSCOW = 701, 702, 703


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return flow_settings(db_path, member_approval=True)


async def approval_of(h: Harness, user_id: int) -> str:
    member = await h.storage.members.by_telegram_id(user_id)
    assert member is not None
    return member.approval


async def samara(h: Harness) -> None:
    """A coordinator of Samara (registered, then invited: approved by the invite)."""
    await register(h, COORDINATOR, name="Ольга Координатор")
    await make_coordinator(h, COORDINATOR, "RU-SAM")
    await h.deliver()


def card_texts(h: Harness, chat_id: int) -> list[str]:
    return [text for text in h.person(chat_id).texts if "ждёт подтверждения" in text]


async def fill_in(
    p: Person,
    name: str,
    organisation: str,
    region: tuple[str, ...] = ("Приволжский", "Самарская область"),
) -> None:
    """From the consent on: the form, in a region offered by the link ("Да") or picked."""
    await p.tap("Даю согласие")
    await p.send(name)
    await p.send(organisation)
    for label in region:
        await p.tap(label)
    await p.tap("Образование")
    await p.tap("Готово")
    await p.tap("Всё верно")


async def test_a_new_member_waits_until_a_coordinator_accepts(harness: Harness) -> None:
    await samara(harness)
    assert await approval_of(harness, COORDINATOR) == "approved"  # by the invite
    await register(harness, NEWCOMER, name="Анна Новичкова")
    p = harness.person(NEWCOMER)
    assert await approval_of(harness, NEWCOMER) == "waiting"
    assert any("Координатор вашего региона скоро проверит" in text for text in p.texts)
    await harness.deliver()
    cards = card_texts(harness, COORDINATOR)
    assert len(cards) == 1
    assert "Анна Новичкова" in cards[0] and "Диалог культур" in cards[0]
    assert "Самарская область" in cards[0]
    assert not card_texts(harness, ADMIN_ID)  # the region has a coordinator

    # waiting: no announcements, no events, no links; asking for help never waits
    event_id = await create_event(harness, COORDINATOR)
    await harness.deliver()
    assert not any("Семинар" in text for text in p.texts)
    await p.send("/events")
    assert "ещё ждёт подтверждения" in p.last
    await p.send(f"/start ev_{event_id}")
    assert "Семинар" not in p.last
    await p.press(f"ev:{event_id}:going", message_id=1)
    assert "ждёт подтверждения" in p.alerts()[-1]
    assert await harness.storage.events.answer_of(event_id, 2) is None
    await p.send("/report")
    assert "опасност" in p.last.lower()
    await p.send("/cancel")
    await p.send("/me")
    assert "Анна Новичкова" in p.last and "ждёт подтверждения" in p.last

    c = harness.person(COORDINATOR)
    await c.tap("Принять")
    assert any("Принят(а) в сеть (Ольга Координатор)" in text for text in c.texts)
    assert not card_texts(harness, COORDINATOR)  # the card was edited in place
    await harness.deliver()
    assert "добро пожаловать в сеть" in p.last
    assert await approval_of(harness, NEWCOMER) == "approved"
    member = await harness.storage.members.by_telegram_id(NEWCOMER)
    assert member is not None
    audit = await harness.storage.roles.audit(member.id)
    assert [(a.action, a.actor_telegram_id) for a in audit] == [("member_approved", COORDINATOR)]
    await p.send("/events")
    assert "Семинар" in p.last
    # a second tap on the card changes nothing
    await c.press(f"apv:{member.id}:no")
    assert "уже приняли" in c.alerts()[-1]
    assert await approval_of(harness, NEWCOMER) == "approved"


async def test_declining_tells_the_person_politely_and_is_logged(harness: Harness) -> None:
    await samara(harness)
    await register(harness, NEWCOMER)
    await harness.deliver()
    c = harness.person(COORDINATOR)
    await c.tap("Отклонить")
    assert any("Заявка отклонена (Ольга Координатор)" in text for text in c.texts)
    await harness.deliver()
    p = harness.person(NEWCOMER)
    assert "не подтвердил заявку" in p.last and "/report" in p.last
    member = await harness.storage.members.by_telegram_id(NEWCOMER)
    assert member is not None and member.approval == "declined"
    audit = await harness.storage.roles.audit(member.id)
    assert [(a.action, a.actor_telegram_id) for a in audit] == [("member_declined", COORDINATOR)]
    await p.send("/events")
    assert "не подтвердил вашу заявку" in p.last
    # registering again does not bring the request back
    await p.send("/start")
    await p.tap("Заполнить анкету заново")
    await fill_in(p, "Анна Иванова", "НКО Диалог")
    assert await approval_of(harness, NEWCOMER) == "declined"
    await harness.deliver()
    assert card_texts(harness, COORDINATOR) == []  # the one card was decided; no new one


async def test_without_a_coordinator_the_admins_decide_and_are_reminded(
    harness: Harness,
) -> None:
    await register(harness, NEWCOMER)  # Samara has no coordinator
    await harness.deliver()
    assert len(card_texts(harness, ADMIN_ID)) == 1
    for _ in range(3):
        harness.clock.advance(hours=25)
        await harness.run_jobs()
        await harness.deliver()
    admin_cards = card_texts(harness, ADMIN_ID)
    assert len(admin_cards) == 3  # the card and two reminders
    assert sum("Напоминание" in text for text in admin_cards) == 2
    harness.clock.advance(hours=100)
    await harness.run_jobs()
    await harness.deliver()
    assert len(card_texts(harness, ADMIN_ID)) == 3  # then it waits quietly
    await harness.person(ADMIN_ID).tap("Принять")
    assert await approval_of(harness, NEWCOMER) == "approved"


async def test_reminders_go_to_the_region_then_once_to_the_admins(harness: Harness) -> None:
    await samara(harness)
    await register(harness, NEWCOMER)
    await harness.deliver()
    for _ in range(3):
        harness.clock.advance(hours=25)
        await harness.run_jobs()
        await harness.deliver()
    assert len(card_texts(harness, COORDINATOR)) == 3  # the card and two reminders
    assert len(card_texts(harness, ADMIN_ID)) == 1  # then the admins, once
    # the admin decides; the coordinator's cards say so, and their buttons are refused
    await harness.person(ADMIN_ID).tap("Принять")
    await harness.deliver()
    assert not card_texts(harness, COORDINATOR)
    decided = [t for t in harness.person(COORDINATOR).texts if "Принят(а) в сеть" in t]
    assert len(decided) == 3 and all("(администратор)" in text for text in decided)
    assert await approval_of(harness, NEWCOMER) == "approved"


async def test_a_coordinators_sign_up_link_approves_and_can_be_revoked(
    harness: Harness,
) -> None:
    await samara(harness)
    c = harness.person(COORDINATOR)
    await c.send("/signup_link")
    assert "Самарская область" in c.last
    match = re.search(r"start=(s_[A-Za-z0-9_-]+)", c.last)
    assert match
    link = match[1]
    p = harness.person(NEWCOMER)
    await p.send(f"/start {link}")
    assert await harness.storage.dialogs.get(NEWCOMER) is None  # nothing before consent
    await p.tap("Даю согласие")
    await p.send("Анна Иванова")
    await p.send("НКО Диалог")
    assert "Самарская область" in p.last  # the link's region is offered
    await p.tap("Да")
    await p.tap("Образование")
    await p.tap("Готово")
    await p.tap("Всё верно")
    assert await approval_of(harness, NEWCOMER) == "approved"
    await harness.deliver()
    assert not card_texts(harness, COORDINATOR)
    assert not any("скоро проверит" in text for text in p.texts)

    # the plain region link does not approve
    await join(harness, 704, "Приволжский", "Самарская область", "Образование")
    assert await approval_of(harness, 704) == "waiting"

    await c.send("/signup_link revoke")
    assert "больше не действуют" in c.last
    q = harness.person(705)
    await q.send(f"/start {link}")
    # told before the form that the link no longer approves at once
    assert "ссылка для регистрации больше не действует" in q.texts[0]
    assert "Согласие на обработку данных" in q.last
    await fill_in(q, "Пётр Петров", "НКО Мост")
    assert await approval_of(harness, 705) == "waiting"
    forged = harness.person(706)
    await forged.send("/start s_forgedforgedforged")
    assert "ссылка для регистрации больше не действует" in forged.texts[0]


async def test_signup_link_is_for_coordinators_of_their_regions(harness: Harness) -> None:
    await samara(harness)
    await register(harness, NEWCOMER)
    p = harness.person(NEWCOMER)
    await p.send("/signup_link")
    assert "только координаторам" in p.last
    c = harness.person(COORDINATOR)
    await c.send("/signup_link RU-MOW")
    assert "Вы не координатор этого региона" in c.last
    await c.send("/signup_link Атлантида")
    assert "Не знаю такого региона" in c.last
    links = await harness.storage.db.fetchall("SELECT * FROM signup_links")
    assert links == []


async def test_strangers_and_other_regions_cannot_decide(harness: Harness) -> None:
    await samara(harness)
    await register(harness, MOSCOW)
    await make_coordinator(harness, MOSCOW, "RU-MOW")
    await register(harness, NEWCOMER)
    await harness.deliver()
    member = await harness.storage.members.by_telegram_id(NEWCOMER)
    assert member is not None and member.approval == "waiting"
    before = await snapshot(harness)
    for who, data in (
        (MOSCOW, f"apv:{member.id}:yes"),
        (NEWCOMER, f"apv:{member.id}:yes"),
        (999_111, f"apv:{member.id}:yes"),
        (COORDINATOR, "apv:99999:yes"),
        (COORDINATOR, f"apv:{member.id}:maybe"),
        (COORDINATOR, "apv:x:yes"),
    ):
        person = harness.person(who)
        calls = len(harness.telegram.calls)
        await person.press(data, message_id=1)
        alerts = [
            c
            for c in harness.telegram.calls[calls:]
            if c.method == "answerCallbackQuery" and c.params.get("text")
        ]
        assert alerts, (who, data)
        await harness.deliver()
        assert await snapshot(harness) == before, (who, data)
    assert await approval_of(harness, NEWCOMER) == "waiting"


async def test_erasure_removes_the_request_and_its_cards(harness: Harness) -> None:
    await samara(harness)
    await register(harness, NEWCOMER)
    member = await harness.storage.members.by_telegram_id(NEWCOMER)
    assert member is not None
    p = harness.person(NEWCOMER)
    await p.send("/forget")
    await p.tap("Да")
    assert await harness.storage.approvals.request(member.id) is None
    rows = await harness.storage.db.fetchall(
        "SELECT * FROM outbox WHERE dedupe_key LIKE ?", (f"apv{member.id}:%",)
    )
    assert rows == []
    await harness.person(COORDINATOR).press(f"apv:{member.id}:yes", message_id=1)
    assert "удалил свои данные" in harness.person(COORDINATOR).alerts()[-1]


async def test_members_from_before_the_migration_count_as_approved(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    try:
        await storage.db.execute(
            "INSERT INTO members (telegram_id, name, region_code, created_at, updated_at)"
            " VALUES (1, 'Старый участник', 'RU-SAM', ?, ?)",
            (to_db(START), to_db(START)),
        )
        member = await storage.members.by_telegram_id(1)
        assert member is not None and member.approval == "approved"
    finally:
        await storage.close()


async def move_to_irkutsk(h: Harness, user_id: int) -> None:
    p = h.person(user_id)
    await p.send("/settings")
    await p.tap("Регион")
    await p.tap("Сибирский")
    await p.tap("Иркутская область")


async def test_a_region_change_needs_no_new_approval_but_both_regions_are_told(
    harness: Harness,
) -> None:
    await samara(harness)
    irkutsk = 706
    await join(harness, irkutsk, "Сибирский", "Иркутская область", "Образование")
    await make_coordinator(harness, irkutsk, "RU-IRK")
    c = harness.person(COORDINATOR)
    await c.send("/signup_link")
    match = re.search(r"start=(s_[A-Za-z0-9_-]+)", c.last)
    assert match
    p = harness.person(NEWCOMER)
    await p.send(f"/start {match[1]}")
    await fill_in(p, "Анна Иванова", "НКО Диалог", region=("Да",))
    assert await approval_of(harness, NEWCOMER) == "approved"
    await harness.deliver()
    await move_to_irkutsk(harness, NEWCOMER)
    await harness.deliver()
    assert await approval_of(harness, NEWCOMER) == "approved"
    for coordinator in (COORDINATOR, irkutsk):
        notice = harness.person(coordinator).last
        assert "сменил регион: Анна Иванова" in notice, coordinator
        assert "Самарская область" in notice and "Иркутская область" in notice
    assert not card_texts(harness, irkutsk)


async def test_a_waiting_members_request_moves_with_them(harness: Harness) -> None:
    await samara(harness)
    irkutsk = 706
    await join(harness, irkutsk, "Сибирский", "Иркутская область", "Образование")
    await make_coordinator(harness, irkutsk, "RU-IRK")
    await harness.deliver()
    await register(harness, NEWCOMER)
    await harness.deliver()
    assert len(card_texts(harness, COORDINATOR)) == 1
    await move_to_irkutsk(harness, NEWCOMER)
    await harness.deliver()
    assert await approval_of(harness, NEWCOMER) == "waiting"
    cards = card_texts(harness, irkutsk)
    assert len(cards) == 1 and "Иркутская область" in cards[0]
    await harness.person(COORDINATOR).tap("Принять")  # the old card: no longer theirs
    assert "другого региона" in harness.person(COORDINATOR).alerts()[-1]
    await harness.person(irkutsk).tap("Принять")
    assert await approval_of(harness, NEWCOMER) == "approved"


def test_vetting_is_on_by_default() -> None:
    assert load_settings(None, bot_token=TOKEN, _env_file=None).member_approval is True


async def test_an_invited_coordinator_is_approved_by_the_invite(harness: Harness) -> None:
    admin = harness.person(ADMIN_ID)
    await admin.send("/invite_coordinator RU-SAM")
    match = re.search(r"start=(inv_[A-Za-z0-9_-]+)", admin.last)
    assert match
    p = harness.person(COORDINATOR)
    await p.send(f"/start {match[1]}")
    await fill_in(p, "Ольга Координатор", "НКО Диалог")
    assert await approval_of(harness, COORDINATOR) == "approved"
    await harness.deliver()
    assert not card_texts(harness, ADMIN_ID)
    assert not any("скоро проверит" in text for text in p.texts)


async def test_the_link_of_a_revoked_coordinator_no_longer_approves(harness: Harness) -> None:
    await samara(harness)
    c = harness.person(COORDINATOR)
    await c.send("/signup_link")
    match = re.search(r"start=(s_[A-Za-z0-9_-]+)", c.last)
    assert match
    roles = await harness.storage.roles.for_member(1)
    await harness.storage.roles.revoke(roles[0].id, actor=ADMIN_ID, now=harness.clock())
    p = harness.person(NEWCOMER)
    await p.send(f"/start {match[1]}")
    assert "ссылка для регистрации больше не действует" in p.texts[0]
    await fill_in(p, "Анна Иванова", "НКО Диалог", region=("Да",))
    assert await approval_of(harness, NEWCOMER) == "waiting"
    await harness.deliver()
    assert len(card_texts(harness, ADMIN_ID)) == 1  # Samara has no coordinator now


async def test_signup_link_is_in_the_coordinators_menu_in_both_languages(
    harness: Harness,
) -> None:
    await samara(harness)
    scope = {"chat_id": COORDINATOR, "type": "chat"}
    for language in ("", "ru", "en"):
        commands = harness.telegram.commands.get((json.dumps(scope, sort_keys=True), language))
        if commands is None:
            continue
        described = {c["command"]: c["description"] for c in commands}
        assert "signup_link" in described, language
        assert described["signup_link"] in (
            "Ваша ссылка для регистрации (участники сразу приняты)",
            "Your sign-up link (members approved at once)",
        )
    menu = harness.telegram.menu(scope)
    assert menu is not None and "signup_link" in menu
    await register(harness, NEWCOMER)
    member_menu = harness.telegram.menu({"chat_id": NEWCOMER, "type": "chat"})
    assert member_menu is None or "signup_link" not in member_menu


async def test_a_revoked_coordinator_gets_no_queued_card_of_a_newcomer(harness: Harness) -> None:
    """The card (name, organisation, region) still queued to a coordinator whose role is then
    revoked is cancelled in the same transaction: it never reaches them."""
    await samara(harness)
    await register(harness, NEWCOMER, name="Анна Новичкова")
    coordinator = await harness.storage.members.by_telegram_id(COORDINATOR)
    assert coordinator is not None
    queued = await harness.storage.db.fetchall(
        "SELECT status FROM outbox WHERE chat_id = ? AND dedupe_key LIKE 'apv%'", (COORDINATOR,)
    )
    assert [r["status"] for r in queued] == ["pending"]
    (role,) = await harness.storage.roles.for_member(coordinator.id)
    admin = harness.person(ADMIN_ID)
    await admin.send(f"/revoke {role.id}")
    await admin.tap("Да, снять роль")
    await harness.deliver()
    assert card_texts(harness, COORDINATOR) == []
    assert "Анна Новичкова" not in "\n".join(harness.person(COORDINATOR).texts)
    queued = await harness.storage.db.fetchall(
        "SELECT status FROM outbox WHERE chat_id = ? AND dedupe_key LIKE 'apv%'", (COORDINATOR,)
    )
    assert [r["status"] for r in queued] == ["cancelled"]
    assert await approval_of(harness, NEWCOMER) == "waiting"  # still waits for someone


async def test_a_decision_is_not_shown_to_who_lost_the_role(harness: Harness) -> None:
    """Two coordinators of Samara get the card; one loses the role; when the other accepts,
    the decision (with the newcomer's name and who decided) edits only the cards of people
    who may decide now."""
    await samara(harness)
    second = 707
    await register(harness, second, name="Павел Второй")
    await make_coordinator(harness, second, "RU-SAM")
    await register(harness, NEWCOMER, name="Анна Новичкова")
    await harness.deliver()
    assert len(card_texts(harness, COORDINATOR)) == len(card_texts(harness, second)) == 1
    coordinator = await harness.storage.members.by_telegram_id(COORDINATOR)
    assert coordinator is not None
    (role,) = await harness.storage.roles.for_member(coordinator.id)
    admin = harness.person(ADMIN_ID)
    await admin.send(f"/revoke {role.id}")
    await admin.tap("Да, снять роль")
    frozen = harness.person(COORDINATOR).texts
    await harness.person(second).tap("Принять")
    await harness.deliver()
    assert await approval_of(harness, NEWCOMER) == "approved"
    assert harness.person(COORDINATOR).texts == frozen  # not edited with the decision
    assert not any("✅ Принят(а)" in text for text in harness.person(COORDINATOR).texts)


async def test_a_member_left_without_a_request_by_a_crash_gets_one(harness: Harness) -> None:
    """The registration and its request are two transactions: after a crash between them the
    member waits with no card anywhere. The sweep opens the request and the card goes out."""
    from storage.members import Profile

    await samara(harness)
    await harness.storage.members.upsert(  # the registration's own transaction, and no more
        NEWCOMER,
        Profile("Анна Новичкова", "НКО Диалог", "RU-SAM", "ru", ()),
        consent_version="v",
        consent_at=harness.clock(),
        now=harness.clock(),
        approval="waiting",
    )
    await harness.run_jobs()
    await harness.deliver()
    cards = card_texts(harness, COORDINATOR)
    assert len(cards) == 1 and "Анна Новичкова" in cards[0]
    await harness.run_jobs()  # once
    await harness.deliver()
    assert len(card_texts(harness, COORDINATOR)) == 1


async def test_a_sign_up_link_opened_during_a_draft_approves_at_the_end(
    harness: Harness,
) -> None:
    """A coordinator's sign-up link opened while a registration draft is open joins the draft:
    its region is offered and the person is approved at once at the end; a link that no
    longer works says so, and the draft goes on to a coordinator's check."""
    await samara(harness)
    c = harness.person(COORDINATOR)
    await c.send("/signup_link")
    match = re.search(r"start=(s_[A-Za-z0-9_-]+)", c.last)
    assert match
    p = harness.person(NEWCOMER)
    await p.send("/start")
    await p.tap("Даю согласие")
    await p.send("Анна Иванова")
    await p.send(f"/start {match[1]}")
    assert "Ссылка координатора учтена: с регионом «Самарская область»" in p.last
    assert "Продолжим с того места" in p.last and "организация" in p.last
    await p.send("НКО Диалог")
    assert "Ваш регион — <b>Самарская область</b>?" in p.last
    await p.tap("Да")
    await p.tap("Образование")
    await p.tap("Готово")
    await p.tap("Всё верно")
    assert await approval_of(harness, NEWCOMER) == "approved"
    await harness.deliver()
    assert not card_texts(harness, COORDINATOR)

    await c.send("/signup_link revoke")
    q = harness.person(705)
    await q.send("/start")
    await q.tap("Даю согласие")
    await q.send("Пётр Петров")
    await q.send(f"/start {match[1]}")
    assert "ссылка для регистрации больше не действует" in q.last
    assert "Закончить регистрацию можно и так" in q.last and "организация" in q.last
    await q.send("НКО Мост")
    await q.tap("Приволжский")
    await q.tap("Самарская область")
    await q.tap("Образование")
    await q.tap("Готово")
    await q.tap("Всё верно")
    assert await approval_of(harness, 705) == "waiting"
