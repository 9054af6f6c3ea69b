"""A half-done registration (#13): kept for days, reminded once at a daytime hour of the
person's region, continued where they stopped, and gone without a trace when it expires.

The test clock starts at 09:00 UTC (12:00 in Moscow, 17:00 in Irkutsk); every time below is
set from it, so the tests do not depend on the hour they run at."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.runtime.app import build_application
from bot.settings import Settings
from storage.db import Storage
from storage.dialogs import Dialog
from tests.conftest import Harness
from tests.fake_telegram import FakeRequest
from tests.test_admin import make_coordinator
from tests.test_events import create_event
from tests.test_no_trace import traces
from tests.test_registration import register

REMINDER = "Вы начали регистрацию"


async def half_done(h: Harness, user_id: int, link: str = "/start", name: str = "Анна") -> None:
    """Agreed, typed a name, then walked away at the organisation question."""
    p = h.person(user_id)
    await p.send(link)
    await p.tap("Даю согласие")
    await p.send(name)
    assert "организация" in p.last


async def sweep(h: Harness) -> None:
    await h.run_jobs()
    await h.deliver()


def reminders(h: Harness, user_id: int) -> list[str]:
    return [text for text in h.person(user_id).texts if REMINDER in text]


async def test_draft_outlives_the_dialogue_timeout_and_start_continues_it(
    harness: Harness,
) -> None:
    await half_done(harness, 301)
    p = harness.person(301)
    harness.clock.advance(days=6, hours=23)  # the 60 minutes of other dialogues are long past
    await sweep(harness)
    draft = await harness.storage.dialogs.get(301)
    assert draft is not None and draft.data["name"] == "Анна" and draft.step == "org"
    await p.send("/start")
    assert "Продолжим с того места, где вы остановились" in p.last
    assert "организация" in p.last
    await p.send("Диалог")
    await p.tap("Северо-Западный")
    await p.tap("Мурманская область")
    await p.tap("Молодёжь")
    await p.tap("Готово")
    await p.tap("Всё верно")
    member = await harness.storage.members.by_telegram_id(301)
    assert member is not None and (member.name, member.organisation) == ("Анна", "Диалог")


async def test_one_reminder_after_three_idle_hours_even_across_a_restart(
    harness: Harness, settings: Settings
) -> None:
    await half_done(harness, 302)
    p = harness.person(302)
    harness.clock.advance(hours=2, minutes=59)
    await sweep(harness)
    assert reminders(harness, 302) == []
    harness.clock.advance(minutes=2)  # 12:01 UTC, 15:01 in Moscow: day
    await sweep(harness)
    [reminder] = reminders(harness, 302)
    assert "Ваши ответы сохранены" in reminder and "/cancel" in reminder
    assert "хранится до 29 ноября 2026, 12:00 по Москве" in reminder  # 7 days after 09:00
    assert "▶️ Продолжить регистрацию" in p.buttons()
    await sweep(harness)
    # the bot restarts: the reminder was a row, and it is not sent again
    await harness.app.shutdown()
    app = build_application(
        settings,
        storage=harness.storage,
        request=FakeRequest(harness.telegram),
        clock=harness.clock,
        start_delivery=False,
    )
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    harness.app = app
    harness.clock.advance(days=1)
    await sweep(harness)
    assert len(reminders(harness, 302)) == 1
    # the reminder's button continues where they stopped, with the name kept
    await p.tap("Продолжить регистрацию")
    assert "Продолжим с того места" in p.last and "организация" in p.last
    await p.send("Диалог")
    assert "федеральный округ" in p.last
    draft = await harness.storage.dialogs.get(302)
    assert draft is not None and (draft.data["name"], draft.data["org"]) == ("Анна", "Диалог")
    # idle again: still one reminder for this draft
    harness.clock.advance(hours=5)
    await sweep(harness)
    assert len(reminders(harness, 302)) == 1


async def test_reminder_waits_for_the_day_in_the_region_or_in_moscow(harness: Harness) -> None:
    await half_done(harness, 303)  # no region yet: Moscow time
    await half_done(harness, 304, link="/start r_RU-IRK")  # Irkutsk, UTC+8, from the link
    harness.clock.now = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)  # 17:30 MSK, 22:30 Irkutsk
    await sweep(harness)
    assert len(reminders(harness, 303)) == 1
    assert reminders(harness, 304) == []  # night in Irkutsk
    harness.clock.now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)  # 07:59 in Irkutsk
    await sweep(harness)
    assert reminders(harness, 304) == []
    harness.clock.now = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 08:00 in Irkutsk
    await sweep(harness)
    [reminder] = reminders(harness, 304)
    assert "хранится до 29 ноября 2026, 17:00 по Иркутску" in reminder
    # a draft left in the evening in Moscow: reminded in the Moscow morning, not at night
    await half_done(harness, 305)  # at 00:00 UTC = 03:00 MSK
    harness.clock.now = datetime(2026, 11, 23, 4, 59, tzinfo=UTC)  # 07:59 MSK, idle ~5 hours
    await sweep(harness)
    assert reminders(harness, 305) == []
    harness.clock.now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 08:00 MSK
    await sweep(harness)
    assert len(reminders(harness, 305)) == 1


async def test_no_reminder_to_who_finished_or_cancelled_meanwhile(harness: Harness) -> None:
    await half_done(harness, 306)
    await half_done(harness, 307)
    await half_done(harness, 308)
    harness.clock.advance(hours=1)
    finisher = harness.person(306)
    await finisher.send("/start")  # back after an hour: goes on and finishes
    await finisher.send("Диалог")
    await finisher.tap("Приволжский")
    await finisher.tap("Самарская область")
    await finisher.tap("Образование")
    await finisher.tap("Готово")
    await finisher.tap("Всё верно")
    await harness.person(307).send("Отмена")
    assert "Регистрация отменена" in harness.person(307).last
    harness.clock.advance(hours=5)
    await harness.run_jobs()  # 308's reminder is queued ...
    queued = await harness.storage.db.fetchall(
        "SELECT chat_id FROM outbox WHERE status = 'pending' AND dedupe_key LIKE 'regdraft:%'"
    )
    assert [r["chat_id"] for r in queued] == [308]
    await harness.person(308).send("/cancel")  # ... and they cancel before it goes out
    await harness.deliver()
    assert reminders(harness, 306) == reminders(harness, 307) == reminders(harness, 308) == []
    assert await harness.storage.dialogs.get(308) is None


async def test_a_message_after_a_pause_shows_where_they_stopped(harness: Harness) -> None:
    await half_done(harness, 309)
    p = harness.person(309)
    harness.clock.advance(hours=26)
    await p.send("Здравствуйте")  # not taken for the organisation's name
    assert "Продолжим с того места" in p.last and "организация" in p.last
    draft = await harness.storage.dialogs.get(309)
    assert draft is not None and "org" not in draft.data and draft.data["name"] == "Анна"
    await p.send("Диалог")  # right after the question: the answer
    assert "федеральный округ" in p.last
    # without a pause a typed answer is taken at once, as before
    await p.send("Самарская")
    assert "Самарская область" in p.buttons()


async def test_an_expired_draft_leaves_no_trace(harness: Harness) -> None:
    stranger, name, org = 987_654_322, "Qwzxyname", "Qwzxyorg"
    p = harness.person(stranger, first_name="Qwzxyfirst")
    await p.send("/start r_RU-IRK")
    await p.tap("Даю согласие")
    await p.send(name)
    await p.send(org)
    harness.clock.advance(hours=4)
    await sweep(harness)
    assert len(reminders(harness, stranger)) == 1
    harness.clock.advance(days=7)
    await sweep(harness)
    assert "Регистрация так и не была закончена" in p.last
    assert await harness.storage.dialogs.get(stranger) is None
    assert await traces(harness, (stranger, name, org, "Qwzxyfirst")) == []
    await p.tap("Продолжить регистрацию")  # the old reminder's button
    assert "Этой незаконченной регистрации уже нет" in p.alerts()[-1]


async def test_an_expired_draft_found_on_the_next_message_leaves_no_trace(
    harness: Harness,
) -> None:
    stranger, name = 987_654_323, "Qwzxyother"
    p = harness.person(stranger)
    await p.send("/start")
    await p.tap("Даю согласие")
    await p.send(name)
    harness.clock.advance(hours=4)
    await sweep(harness)
    assert len(reminders(harness, stranger)) == 1
    harness.clock.advance(days=7)  # no sweep ran (the bot was down): the next message finds it
    await p.send("Диалог")
    assert "долго не отвечали" in p.last
    assert await traces(harness, (stranger, name, "Диалог")) == []


async def test_a_member_who_registers_again_gets_the_same_draft(harness: Harness) -> None:
    await register(harness, 310)
    p = harness.person(310)
    await p.send("/start")
    await p.tap("Заполнить анкету заново")
    await p.tap("Даю согласие")
    await p.send("Анна Петрова")
    harness.clock.advance(hours=3, minutes=1)
    await sweep(harness)
    assert len(reminders(harness, 310)) == 1
    member = await harness.storage.members.by_telegram_id(310)
    assert member is not None and member.name == "Анна Иванова"  # nothing changed yet


async def test_no_reminder_to_who_was_refused_meanwhile(
    harness: Harness, settings: Settings
) -> None:
    """With vetting on: a waiting member fills in the form again, a coordinator declines them
    meanwhile; the draft is not pressed on them."""
    await harness.app.shutdown()
    vetted = settings.model_copy(update={"member_approval": True})
    app = build_application(
        vetted,
        storage=harness.storage,
        request=FakeRequest(harness.telegram),
        clock=harness.clock,
        start_delivery=False,
    )
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    harness.app = app
    await register(harness, 601, name="Ольга Координатор")
    await make_coordinator(harness, 601, "RU-SAM")
    await register(harness, 311)
    await harness.deliver()
    p = harness.person(311)
    await p.send("/start")
    await p.tap("Заполнить анкету заново")
    await p.tap("Даю согласие")
    await p.send("Анна Петрова")
    await harness.person(601).tap("Отклонить")
    harness.clock.advance(hours=4)
    await sweep(harness)
    member = await harness.storage.members.by_telegram_id(311)
    assert member is not None and member.approval == "declined"
    assert reminders(harness, 311) == []
    # and someone waiting (not refused) who leaves the form is reminded as usual
    await register(harness, 312)
    q = harness.person(312)
    await q.send("/start")
    await q.tap("Заполнить анкету заново")
    await q.tap("Даю согласие")
    await q.send("Анна Петрова")
    harness.clock.advance(hours=4)
    await sweep(harness)
    assert len(reminders(harness, 312)) == 1


async def test_the_reminder_is_claimed_once_and_an_answer_saved_meanwhile_keeps_it(
    storage: Storage,
) -> None:
    """The claim is a conditional update of the draft's row: a second sweep, or one that read
    the draft before the person answered, claims nothing; an answer saved from a copy read
    before the claim does not bring the reminder back."""
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    later = start + timedelta(hours=4)
    draft = Dialog(701, 701, "reg", "org", {"lang": "ru", "name": "Анна"})
    saved = await storage.dialogs.save(draft, now=start, expires_at=start + timedelta(days=7))
    [idle] = await storage.dialogs.idle("reg", idle_since=later - timedelta(hours=3), now=later)
    async with storage.db.transaction():
        assert await storage.dialogs.claim_reminder(idle, later)
    async with storage.db.transaction():
        assert not await storage.dialogs.claim_reminder(idle, later)  # taken once
    # the person's answer, saved from the copy read before the claim
    answered = replace(saved, step="district", data={**saved.data, "org": "Диалог"})
    await storage.dialogs.save(answered, now=later, expires_at=later + timedelta(days=7))
    much_later = later + timedelta(days=1)
    assert await storage.dialogs.idle("reg", idle_since=much_later, now=much_later) == []
    # a sweep that read the draft before an answer claims nothing
    other = Dialog(702, 702, "reg", "name", {"lang": "ru"})
    stale = await storage.dialogs.save(other, now=start, expires_at=start + timedelta(days=7))
    await storage.dialogs.save(
        replace(stale, step="org", data={"lang": "ru", "name": "Олег"}),
        now=later,
        expires_at=later + timedelta(days=7),
    )
    async with storage.db.transaction():
        assert not await storage.dialogs.claim_reminder(stale, later)


async def test_cancel_after_the_reminder_leaves_no_trace(harness: Harness) -> None:
    """/cancel removes the draft at once, and the reminder already delivered (its row keeps
    the chat and the text) goes with it: nothing, not even the Telegram id, stays."""
    stranger, name = 987_654_324, "Qwzxycancel"
    p = harness.person(stranger, first_name="Qwzxyfirst")
    await half_done(harness, stranger, name=name)
    harness.clock.advance(hours=4)
    await sweep(harness)
    assert len(reminders(harness, stranger)) == 1
    await p.send("/cancel")
    assert "Регистрация отменена" in p.last  # below the reminder, not far up the chat
    assert await harness.storage.dialogs.get(stranger) is None
    assert await traces(harness, (stranger, name, "Qwzxyfirst")) == []
    await sweep(harness)
    assert await traces(harness, (stranger, name, "Qwzxyfirst")) == []
    await p.tap("Продолжить регистрацию")  # the old reminder's button
    assert "Этой незаконченной регистрации уже нет" in p.alerts()[-1]
    assert await traces(harness, (stranger, name, "Qwzxyfirst")) == []


async def test_a_member_who_cancels_a_new_form_keeps_the_reminder_row_cancelled(
    harness: Harness,
) -> None:
    """A member filling in the form again who cancels: their reminder still queued is not
    sent (their data stays, they are a member)."""
    await register(harness, 313)
    p = harness.person(313)
    await p.send("/start")
    await p.tap("Заполнить анкету заново")
    await p.tap("Даю согласие")
    await p.send("Анна Петрова")
    harness.clock.advance(hours=4)
    await harness.run_jobs()  # queued, not delivered
    await p.send("/cancel")
    await harness.deliver()
    assert reminders(harness, 313) == []
    member = await harness.storage.members.by_telegram_id(313)
    assert member is not None and member.name == "Анна Иванова"


async def test_forget_deletes_a_draft_of_someone_not_registered_yet(harness: Harness) -> None:
    """/forget before the registration is done: the draft and its reminder go at once (no
    confirmation: /cancel does the same without one), and the person is told so."""
    stranger, name, org = 987_654_325, "Qwzxyforget", "Qwzxyorgforget"
    p = harness.person(stranger, first_name="Qwzxyfirst")
    await half_done(harness, stranger, link="/start r_RU-IRK", name=name)
    await p.send(org)
    harness.clock.advance(hours=4)
    await sweep(harness)
    assert len(reminders(harness, stranger)) == 1
    await p.send("/forget")
    assert "Незаконченная анкета с вашими ответами удалена сразу" in p.last
    assert "Сначала зарегистрируйтесь" not in p.last
    assert await harness.storage.dialogs.get(stranger) is None
    assert await traces(harness, (stranger, name, org, "Qwzxyfirst")) == []
    await sweep(harness)
    harness.clock.advance(days=8)
    await sweep(harness)
    assert "Регистрация так и не была закончена" not in p.last  # nothing left to expire
    assert await traces(harness, (stranger, name, org, "Qwzxyfirst")) == []
    # once more: nothing to delete, the usual answer
    await p.send("/forget")
    assert "Сначала зарегистрируйтесь" in p.last
    await p.tap("Продолжить регистрацию")  # the old reminder's button
    assert "Этой незаконченной регистрации уже нет" in p.alerts()[-1]


async def test_forget_in_english_for_a_draft(harness: Harness) -> None:
    p = harness.person(987_654_326, language_code="en")
    await p.send("/start")
    await p.tap("I agree")
    await p.send("Anna")
    await p.send("/forget")
    assert "The unfinished form with your answers has been deleted" in p.last
    assert await traces(harness, (987_654_326, "Anna")) == []


async def test_a_region_link_opened_during_a_draft_offers_its_region(harness: Harness) -> None:
    """A region link opened while a draft is open is not lost: its region is offered at the
    region question (at once, if that is the open question), unless already answered."""
    await half_done(harness, 314)
    p = harness.person(314)
    await p.send("/start r_RU-SAM")
    assert "Регион по ссылке учтён: <b>Самарская область</b>" in p.last
    assert "Продолжим с того места" in p.last and "организация" in p.last
    await p.send("Диалог")
    assert "Ваш регион — <b>Самарская область</b>?" in p.last
    # at the region question itself: the region is asked about now
    await half_done(harness, 315)
    q = harness.person(315)
    await q.send("Диалог")
    assert "федеральный округ" in q.last
    await q.send("/start r_irk")
    assert "Регион по ссылке учтён: <b>Иркутская область</b>" in q.last
    assert "Ваш регион — <b>Иркутская область</b>?" in q.last
    await q.tap("Да, верно")
    assert "темы" in q.last.casefold()
    # answered already: kept, and the person is told how to change it
    await q.send("/start r_RU-SAM")
    assert "Регион у вас уже выбран: <b>Иркутская область</b>" in q.last
    await q.tap("Образование")
    await q.tap("Готово")
    await q.tap("Всё верно")
    member = await harness.storage.members.by_telegram_id(315)
    assert member is not None and member.region_code == "RU-IRK"


async def test_an_event_link_opened_during_a_draft_opens_the_event_at_the_end(
    harness: Harness,
) -> None:
    await register(harness, 601, name="Ольга Координатор")
    await make_coordinator(harness, 601, "RU-SAM")
    event_id = await create_event(harness, 601)
    await harness.deliver()
    await half_done(harness, 316)
    p = harness.person(316)
    await p.send(f"/start ev_{event_id}")
    assert "Ссылка на мероприятие учтена: оно откроется сразу после регистрации" in p.last
    assert "организация" in p.last
    draft = await harness.storage.dialogs.get(316)
    assert draft is not None and draft.data["after"] == ["event", str(event_id)]
    await p.send("Диалог")
    await p.tap("Приволжский")
    await p.tap("Самарская область")
    await p.tap("Образование")
    await p.tap("Готово")
    await p.tap("Всё верно")
    assert "Семинар: права детей" in p.last and "Пойду" in p.buttons()
