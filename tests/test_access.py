"""Access follows the role at once: revoking a role, taking a region away, /forget and an admin
taken off ADMIN_IDS end what the role brought (queued cards, reminders, digests, broadcast
reports) in the same transaction; delivered cards get the stub once and are not fed again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.runtime.app import build_application
from bot.settings import Settings, load_settings
from storage.db import Storage
from tests.conftest import ADMIN_ID, Clock, Harness
from tests.fake_telegram import TOKEN, FakeRequest, FakeTelegram
from tests.test_admin import make_coordinator
from tests.test_incidents import PHOTO, REGIONAL, REGIONAL_2, REPORTER, cards, later, report
from tests.test_registration import register

STUB = "Обращение больше недоступно."


async def samara(h: Harness) -> None:
    """Two coordinators of Samara (one of them also of Ulyanovsk) and a member who reports."""
    await register(h, REGIONAL, name="Ольга Регионова")
    await make_coordinator(h, REGIONAL, "RU-SAM")
    await register(h, REGIONAL_2, name="Павел Второй")
    await make_coordinator(h, REGIONAL_2, "RU-SAM")
    await register(h, REPORTER, name="Ринат Заявитель")


async def role_id(h: Harness, telegram_id: int, region: str) -> int:
    member = await h.storage.members.by_telegram_id(telegram_id)
    assert member is not None
    return next(
        r.id for r in await h.storage.roles.for_member(member.id) if r.region_code == region
    )


async def revoke(h: Harness, telegram_id: int, region: str) -> None:
    admin = h.person(ADMIN_ID)
    rid = await role_id(h, telegram_id, region)
    await admin.send(f"/revoke {rid}")
    await admin.tap("Да, снять роль")
    assert "снята" in admin.last


async def queued_to(h: Harness, chat_id: int) -> list[str]:
    rows = await h.storage.db.fetchall(
        "SELECT dedupe_key FROM outbox WHERE chat_id = ? AND status = 'pending'", (chat_id,)
    )
    return [str(r[0]) for r in rows]


def edits_with(h: Harness, chat_id: int, text: str) -> int:
    return sum(
        1
        for c in h.telegram.calls
        if c.method == "editMessageText"
        and str(c.params.get("chat_id")) == str(chat_id)
        and text in str(c.params.get("text"))
    )


async def test_a_revoked_coordinator_loses_queued_and_delivered_cards(harness: Harness) -> None:
    await samara(harness)
    await report(harness, REPORTER)
    await harness.deliver()
    assert len(cards(harness, REGIONAL)) == 1
    await report(harness, REPORTER, description="Второй случай: угрозы в адрес общины у школы.")
    assert any(k.startswith("inccard2:") for k in await queued_to(harness, REGIONAL))
    await revoke(harness, REGIONAL, "RU-SAM")
    # nothing about the reports is still queued to them; the delivered card becomes the stub
    queued = [k for k in await queued_to(harness, REGIONAL) if k.startswith("inc")]
    assert len(queued) == 1 and queued[0].startswith("incgone1:")
    await harness.deliver()
    regional = harness.person(REGIONAL)
    assert cards(harness, REGIONAL) == [] and STUB in regional.texts
    assert not any("Второй случай" in t or "разбили окна" in t for t in regional.texts)
    assert regional.texts.count(STUB) == 1
    stub = next(
        m
        for (chat, _), m in harness.telegram.messages.items()
        if chat == REGIONAL and m.get("text") == STUB
    )
    assert "reply_markup" not in stub  # the buttons went with the text
    # the other coordinator takes it, notes, resolves: their card follows, the stub stays
    other = harness.person(REGIONAL_2)
    await other.tap("Беру в работу")
    await harness.deliver()
    assert "Павел Второй" in cards(harness, REGIONAL_2)[-1]  # the second report's card
    await other.tap("Решено")
    await other.send("Встретились с администрацией школы, охрана усилена.")
    await harness.deliver()
    assert cards(harness, REGIONAL) == [] and regional.texts.count(STUB) == 1
    assert edits_with(harness, REGIONAL, STUB) == 1
    assert edits_with(harness, REGIONAL, "Павел") == 0
    # reminders and escalations of the second report do not reach them either
    await later(harness, hours=30)
    assert cards(harness, REGIONAL) == [] and regional.texts.count(STUB) == 1
    assert [k for k in await queued_to(harness, REGIONAL) if k.startswith("inc")] == []
    assert any("Второй случай" in t for t in cards(harness, REGIONAL_2))
    # a forged button on the old card is refused politely, nothing changes
    await regional.press("inc:1:ack", message_id=stub["message_id"])
    assert regional.alerts()
    incident = await harness.storage.incidents.get(2)
    assert incident is not None and incident.assignee_telegram_id != REGIONAL


async def test_a_region_taken_away_keeps_the_other_regions(harness: Harness) -> None:
    await samara(harness)
    await make_coordinator(harness, REGIONAL, "RU-ULY")
    await report(harness, REPORTER)
    await harness.deliver()
    assert len(cards(harness, REGIONAL)) == 1
    await revoke(harness, REGIONAL, "RU-SAM")
    await harness.deliver()
    assert cards(harness, REGIONAL) == [] and STUB in harness.person(REGIONAL).texts
    member = await harness.storage.members.by_telegram_id(REGIONAL)
    assert member is not None
    assert [r.region_code for r in await harness.storage.roles.for_member(member.id)] == ["RU-ULY"]
    # a new Samara report reaches only the one who holds Samara now
    await report(harness, REPORTER, description="Новый случай: оскорбления на рынке в Самаре.")
    await harness.deliver()
    assert cards(harness, REGIONAL) == []
    assert any("Новый случай" in t for t in cards(harness, REGIONAL_2))


async def test_a_region_taken_from_a_federal_coordinator_changes_nothing_they_may_see(
    harness: Harness,
) -> None:
    await samara(harness)
    await make_coordinator(harness, REGIONAL, "all")
    await report(harness, REPORTER)
    await harness.deliver()
    await revoke(harness, REGIONAL, "RU-SAM")
    await harness.deliver()
    assert len(cards(harness, REGIONAL)) == 1 and STUB not in harness.person(REGIONAL).texts
    await harness.person(REGIONAL_2).tap("Беру в работу")
    await harness.deliver()
    assert "Павел Второй" in cards(harness, REGIONAL)[0]  # still fed: they still may see it


async def test_forget_ends_the_cards_and_what_is_queued(harness: Harness) -> None:
    await samara(harness)
    await report(harness, REPORTER)
    await harness.deliver()
    await report(harness, REPORTER, description="Второй случай: угрозы в адрес общины у школы.")
    regional = harness.person(REGIONAL)
    await regional.send("/forget")
    await regional.tap("Да, удалить")
    queued = await harness.storage.db.fetchall(
        "SELECT dedupe_key, member_id, payload FROM outbox WHERE chat_id = ?", (REGIONAL,)
    )  # only the stub, with neither their member id nor a key that holds their chat id
    assert [(r[0], r[1], STUB in r[2]) for r in queued] == [(None, None, True)]
    await harness.deliver()
    assert cards(harness, REGIONAL) == [] and regional.texts.count(STUB) == 1
    assert not await harness.storage.db.fetchall(
        "SELECT 1 FROM outbox WHERE chat_id = ?", (REGIONAL,)
    )
    await harness.person(REGIONAL_2).tap("Беру в работу")
    await later(harness, hours=30)
    assert cards(harness, REGIONAL) == [] and regional.texts.count(STUB) == 1
    assert edits_with(harness, REGIONAL, STUB) == 1


async def test_broadcast_reports_stop_when_the_role_goes(harness: Harness) -> None:
    await samara(harness)
    regional = harness.person(REGIONAL)
    await regional.send("/broadcast")
    await regional.tap("Готово")
    await regional.send("Собрание в пятницу в 18:00.")
    await regional.tap("Отправить")
    broadcasts = await harness.storage.db.fetchall("SELECT status_chat_id FROM broadcasts")
    assert [r[0] for r in broadcasts] == [REGIONAL]
    await revoke(harness, REGIONAL, "RU-SAM")
    broadcasts = await harness.storage.db.fetchall("SELECT status_chat_id FROM broadcasts")
    assert [r[0] for r in broadcasts] == [None]
    before = len(harness.person(REGIONAL).texts)
    await harness.deliver()
    assert "Собрание в пятницу" in harness.person(REPORTER).last  # members still get it
    assert not any("доставлено" in t for t in harness.person(REGIONAL).texts[before:])
    assert any("Отправлено 0 из" in t for t in harness.person(REGIONAL).texts)  # not edited


@pytest.fixture
async def restarted() -> AsyncIterator[list[Harness]]:
    apps: list[Harness] = []
    yield apps
    for h in apps:
        await h.app.shutdown()


async def start(
    storage: Storage, telegram: FakeTelegram, clock: Clock, settings: Settings
) -> Harness:
    app = build_application(
        settings, storage=storage, request=FakeRequest(telegram), clock=clock, start_delivery=False
    )
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    return Harness(app, telegram, storage, clock)


NEW_ADMIN = 900002


async def test_an_admin_taken_off_admin_ids_loses_cards_at_the_next_start(
    harness: Harness, settings: Settings, restarted: list[Harness]
) -> None:
    # no coordinator anywhere: reports go to the admins, with a notice of the broken setup
    await register(harness, REPORTER, name="Ринат Заявитель")
    await report(harness, REPORTER)
    await harness.deliver()
    assert len(cards(harness, ADMIN_ID)) == 1
    await report(harness, REPORTER, description="Второй случай: угрозы в адрес общины у школы.")
    assert await queued_to(harness, ADMIN_ID)
    # the bot starts again with another admin in ADMIN_IDS
    changed = load_settings(
        None,
        bot_token=TOKEN,
        admin_ids=str(NEW_ADMIN),
        database_path=settings.database_path,
        flood_per_minute=1000,
        _env_file=None,
    )
    h = await start(harness.storage, harness.telegram, harness.clock, changed)
    restarted.append(h)
    assert [k for k in await queued_to(h, ADMIN_ID) if not k.startswith("incgone")] == []
    await h.deliver()
    old = h.person(ADMIN_ID)
    assert cards(h, ADMIN_ID) == [] and old.texts.count(STUB) == 1
    audit = await h.storage.roles.audit()
    assert "admin_unlisted" in [a.action for a in audit]
    # later steps reach the new admin only; the old one gets nothing, not even a second stub
    await later(h, hours=30)
    assert cards(h, ADMIN_ID) == [] and old.texts.count(STUB) == 1
    assert any("№1" in t for t in h.person(NEW_ADMIN).texts)  # the reminders go to them
    assert edits_with(h, ADMIN_ID, "Обращение №") == 0
    # a second start with the same list changes nothing
    again = await start(harness.storage, harness.telegram, harness.clock, changed)
    restarted.append(again)
    await again.deliver()
    assert old.texts.count(STUB) == 1


async def test_a_queued_digest_goes_with_the_role(harness: Harness) -> None:
    await samara(harness)
    await report(harness, REPORTER, urgency="Для сведения")
    await harness.deliver()
    harness.clock.now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 09:00 in Samara
    await harness.run_jobs()  # the digests are queued, not sent yet
    assert any(k.startswith("digest:") for k in await queued_to(harness, REGIONAL))
    await revoke(harness, REGIONAL, "RU-SAM")
    assert not any(k.startswith("digest:") for k in await queued_to(harness, REGIONAL))
    await later(harness, minutes=30)
    digests = [t for t in harness.person(REGIONAL).texts if "Открытые обращения на утро" in t]
    assert digests == []
    assert any("Открытые обращения на утро" in t for t in harness.person(REGIONAL_2).texts)


async def test_a_report_taken_by_someone_who_loses_the_role_is_handed_back(
    harness: Harness,
) -> None:
    await samara(harness)
    await report(harness, REPORTER)
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.tap("Беру в работу")
    await harness.deliver()
    assert "Ольга Регионова" in cards(harness, REGIONAL_2)[0]
    await revoke(harness, REGIONAL, "RU-SAM")
    await later(harness, minutes=1)
    incident = await harness.storage.incidents.get(1)
    assert incident is not None and incident.state == "new"
    assert incident.assignee_telegram_id is None
    card = cards(harness, REGIONAL_2)[0]
    assert "Ольга" not in card and "Беру в работу" in " ".join(harness.person(REGIONAL_2).buttons())
    assert cards(harness, REGIONAL) == [] and regional.texts.count(STUB) == 1
    # the other coordinator takes it now
    harness.clock.advance(seconds=5)
    await harness.person(REGIONAL_2).tap("Беру в работу")
    await harness.deliver()
    assert "Павел Второй" in cards(harness, REGIONAL_2)[0]


async def test_the_reporters_answer_goes_to_who_may_see_the_report_now(harness: Harness) -> None:
    await samara(harness)
    await report(harness, REPORTER)
    await harness.deliver()
    regional = harness.person(REGIONAL)
    await regional.tap("Задать вопрос заявителю")
    await regional.send("Были ли свидетели?")
    await harness.deliver()
    await revoke(harness, REGIONAL, "RU-SAM")
    reporter = harness.person(REPORTER)
    await reporter.tap("Ответить")
    await reporter.send("Да, охранник видел всё")
    await harness.deliver()
    assert not any("охранник" in t for t in regional.texts)
    assert "охранник видел всё" in harness.person(REGIONAL_2).last


async def test_files_of_a_report_are_deleted_from_the_former_holders_chat(
    harness: Harness,
) -> None:
    await samara(harness)
    await report(harness, REPORTER, files=(PHOTO,))
    await harness.deliver()

    def photos(chat_id: int) -> list[dict[str, object]]:
        return [
            m for (c, _), m in harness.telegram.messages.items() if c == chat_id and "photo" in m
        ]

    assert len(photos(REGIONAL)) == 1 and len(photos(REGIONAL_2)) == 1
    await revoke(harness, REGIONAL, "RU-SAM")
    await harness.deliver()
    assert photos(REGIONAL) == [] and len(photos(REGIONAL_2)) == 1
    assert harness.person(REGIONAL).texts.count(STUB) == 1
    # the reporter adds another file: it reaches the current holder only
    reporter = harness.person(REPORTER)
    incident = await harness.storage.incidents.get(1)
    assert incident is not None
    await reporter.send(f"/status {incident.code}")
    await reporter.tap("Добавить подробности")
    await reporter.send(None, **PHOTO)
    await harness.deliver()
    assert photos(REGIONAL) == [] and len(photos(REGIONAL_2)) == 2


async def test_what_incident_queued_goes_with_the_role(harness: Harness) -> None:
    """/incident queues the timeline's further pages and the photos through the outbox: when
    the role goes before they are delivered, none of them reaches the former coordinator; what
    was delivered is replaced (pages) or deleted (photos) once."""
    await samara(harness)
    await report(harness, REPORTER, files=(PHOTO, PHOTO))
    await harness.deliver()

    def photos_to(chat_id: int) -> int:
        return len(harness.telegram.sent("sendPhoto", chat_id=chat_id))

    coordinator = harness.person(REGIONAL)
    before = photos_to(REGIONAL)
    await coordinator.send("/incident 1")
    assert any(key.startswith("incview1:") for key in await queued_to(harness, REGIONAL))
    await revoke(harness, REGIONAL, "RU-SAM")
    assert not any(key.startswith("incview") for key in await queued_to(harness, REGIONAL))
    await harness.deliver()
    assert photos_to(REGIONAL) == before  # nothing of /incident arrived

    # the other coordinator's photos arrive, and are deleted once their role goes too
    other = harness.person(REGIONAL_2)
    before = photos_to(REGIONAL_2)
    await other.send("/incident 1")
    await harness.deliver()
    assert photos_to(REGIONAL_2) == before + 2
    deleted_before = len(harness.telegram.sent("deleteMessage", chat_id=REGIONAL_2))
    await revoke(harness, REGIONAL_2, "RU-SAM")
    await harness.deliver()
    deleted = len(harness.telegram.sent("deleteMessage", chat_id=REGIONAL_2)) - deleted_before
    assert deleted >= 2  # the two photos of /incident (and those of the card)


@pytest.mark.parametrize("answer", ["typed", "button"])
async def test_a_dialogue_closes_when_its_role_goes(harness: Harness, answer: str) -> None:
    """The engine checks each flow's `may_use` at every answer: a coordinator whose role went
    while /new_event was open is told so, the dialogue ends, and nothing is created."""
    await samara(harness)
    regional = harness.person(REGIONAL)
    await regional.send("/broadcast" if answer == "button" else "/new_event")
    await revoke(harness, REGIONAL_2, "RU-SAM")  # the other coordinator: nothing changes
    await revoke(harness, REGIONAL, "RU-SAM")
    if answer == "button":
        await regional.tap("Готово")
    else:
        await regional.send("Семинар: права детей")
    assert "ваша роль в сети изменилась" in regional.last
    assert await harness.storage.db.fetchall("SELECT * FROM dialogs") == []
    assert await harness.storage.db.fetchall("SELECT * FROM broadcasts") == []
    assert await harness.storage.db.fetchall("SELECT * FROM events") == []
    # the next message is an ordinary one: no dialogue catches it
    await regional.send("Семинар: права детей")
    assert "ваша роль" not in regional.last
