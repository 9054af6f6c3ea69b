"""Typed text goes only to the question that is open (#12): text typed with no question open
is never stored as an answer to an old questionnaire question, and a message that reads like
a call for help gets the emergency number and /report."""

from __future__ import annotations

from datetime import timedelta

from bot.incidents.helpcall import sounds_like_help
from tests.conftest import Harness
from tests.test_evaluations import ENDS, MOSCOW_ID, at, make_event, people_going
from tests.test_incidents import DESCRIPTION, REGIONAL, REPORTER, network, report


async def stored_answers(h: Harness) -> list[object]:
    rows = await h.storage.db.fetchall("SELECT draft FROM evaluation_participants")
    return [r[0] for r in rows] + list(
        await h.storage.db.fetchall("SELECT * FROM evaluation_answers")
    )


def test_calls_for_help_are_recognised_and_thanks_are_not() -> None:
    for text in ("Помогите!", "нам угрожают", "Вчера избили брата", "СПАСИТЕ", "help us", "SOS"):
        assert sounds_like_help(text), text
    for text in ("Спасибо за мероприятие", "5", "Больше практики", "Всё понравилось", None):
        assert not sounds_like_help(text), text


async def test_text_typed_after_the_questionnaire_dialogue_closed_is_not_an_answer(
    harness: Harness,
) -> None:
    event_id = await make_event(harness, program=())
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    await p.tap("5 — отлично")
    assert "вопрос 2 из 7" in p.last
    await at(harness, ENDS + timedelta(hours=5))  # the dialogue closed long ago
    before = await stored_answers(harness)
    await p.send("Позвоните мне завтра по поводу аренды зала")
    assert "не записал в анкету" in p.last
    assert await stored_answers(harness) == before
    await p.tap("Продолжить")
    assert "вопрос 2 из 7" in p.last  # still where they stopped, nothing taken


async def test_text_typed_days_after_the_request_is_not_an_answer(harness: Harness) -> None:
    event_id = await make_event(harness, program=())
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    await at(harness, ENDS + timedelta(hours=3))
    await p.send("5")
    assert "не записал в анкету" in p.last
    assert await harness.storage.db.fetchall("SELECT * FROM evaluation_answers") == []
    drafts = await harness.storage.db.fetchall("SELECT draft FROM evaluation_participants")
    assert [r[0] for r in drafts] == [None]


async def test_a_call_for_help_gets_112_and_report_and_is_stored_nowhere(harness: Harness) -> None:
    event_id = await make_event(harness, program=())
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))  # the first question was just put to them
    p = harness.person(MOSCOW_ID)
    await p.send("Помогите, нам угрожают у входа")
    assert "112" in p.last and "/report" in p.last
    assert await harness.storage.db.fetchall("SELECT * FROM evaluation_answers") == []
    drafts = await harness.storage.db.fetchall("SELECT draft FROM evaluation_participants")
    assert [r[0] for r in drafts] == [None]
    stranger = harness.person(5151, language_code="en")
    await stranger.send("help, they attacked us")
    assert "112" in stranger.last and "/start" in stranger.last
    assert await harness.storage.members.by_telegram_id(5151) is None


async def test_inside_an_open_report_such_words_are_the_report(harness: Harness) -> None:
    await network(harness)
    code = await report(harness, REPORTER, description="Помогите: вчера избили " + DESCRIPTION)
    incident = await harness.storage.incidents.by_code(code)
    assert incident is not None and incident.description.startswith("Помогите: вчера избили")
    await harness.deliver()
    assert harness.person(REGIONAL).texts
