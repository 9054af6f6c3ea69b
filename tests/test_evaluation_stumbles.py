"""What people stumbled on in evaluations (#13): typed answers after closing, typed words
that mean a button, old buttons after a typed answer, one nudge for a pause, the regional
rates and event labels of /evaluations, the written answers and chart captions of /evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_evaluation_access import SAMARA, join_samara
from tests.test_evaluations import (
    COORDINATOR,
    CROWD,
    ENDS,
    KALININGRAD_ID,
    MOSCOW_ID,
    answer_with,
    at,
    crowd_going,
    evaluated_event,
    make_event,
    people_going,
)
from tests.test_registration import register

CLOSES = ENDS + timedelta(days=7)  # EVALUATION_CLOSE_DAYS after the end


def live_questions(h: Harness, user_id: int) -> list[str]:
    """The messages in the person's chat that still carry questionnaire buttons."""
    return [
        str(m.get("text"))
        for (chat_id, _), m in sorted(h.telegram.messages.items())
        if chat_id == user_id
        and any(
            str(b.get("callback_data", "")).startswith("eva:")
            and not str(b.get("callback_data", "")).endswith((":go", ":redo"))
            for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        )
    ]


async def stored(h: Harness) -> list[tuple[object, ...]]:
    drafts = await h.storage.db.fetchall("SELECT draft FROM evaluation_participants")
    answers = await h.storage.db.fetchall("SELECT * FROM evaluation_answers")
    return [tuple(r) for r in drafts] + [tuple(r) for r in answers]


async def test_a_typed_answer_after_closing_is_told_it_is_closed_as_a_button_is(
    harness: Harness,
) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID, KALININGRAD_ID))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    await p.tap("5 — отлично")
    await at(harness, CLOSES + timedelta(minutes=1))
    before = await stored(harness)
    await p.send("Больше практики")
    closed = "Анкета по мероприятию «Тренинг: медиация» уже закрыта — ответы больше не принимаются"
    assert closed in p.last and "не понял" not in p.last
    await p.tap("🙂 4")  # the button on the same question says the same
    assert closed in p.alerts()[-1]
    # someone who never started, typing a mark into the first question
    k = harness.person(KALININGRAD_ID)
    await k.send("5")
    assert closed in k.last
    # but a message about something else is not taken for a late answer
    await k.send("Здравствуйте, когда следующий тренинг?")
    assert closed not in k.last and "Я не понял сообщение" in k.last
    assert await stored(harness) == before
    # weeks later a message is not taken for a late answer any more
    await at(harness, CLOSES + timedelta(days=8))
    await k.send("Здравствуйте, когда следующий тренинг?")
    assert "Я не понял сообщение" in k.last


async def test_a_question_open_at_closing_refuses_the_typed_answer_and_loses_its_buttons(
    harness: Harness,
) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    await at(harness, CLOSES - timedelta(minutes=10))
    p = harness.person(MOSCOW_ID)
    await p.tap("5 — отлично")  # the dialogue is open when the questionnaire closes
    assert "вопрос 2 из 7" in p.last and "вопрос 2 из 7" in live_questions(harness, MOSCOW_ID)[-1]
    harness.clock.now = CLOSES + timedelta(minutes=1)
    await p.send("4")
    assert "уже закрыта" in p.last
    assert not any("вопрос 2 из 7" in text for text in live_questions(harness, MOSCOW_ID))
    assert await harness.storage.db.fetchall("SELECT * FROM evaluation_answers") == []


async def test_typed_skip_and_the_words_on_the_scale_buttons_count_like_the_buttons(
    harness: Harness,
) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    labels = p.buttons()
    assert labels[:5] == [
        "😃 5 — отлично",
        "🙂 4 — хорошо",
        "😐 3 — средне",
        "🙁 2 — плохо",
        "😞 1 — очень плохо",
    ]
    await p.send("Пропустить")  # a mark cannot be skipped: the buttons are pointed at
    assert "выберите ответ кнопкой" in p.texts[-2] and "вопрос 1 из 7" in p.last
    await p.send("Отлично!")
    assert "вопрос 2 из 7" in p.last
    await p.send("хорошо")
    assert "вопрос 3 из 7" in p.last
    await p.send("3 — средне")
    await p.tap("В самый раз")
    await p.send("пропустить")  # the best block (there is a programme): skipped
    assert "вопрос 6 из 7" in p.last
    await p.send("Пропустить.")  # what to improve: skipped, not the person's words
    assert "вопрос 7 из 7" in p.last
    await p.tap("Да")
    responses = await harness.storage.evaluations.responses(event_id, "main")
    answers = {k: a.as_dict() for k, a in responses[0].answers.items()}
    assert answers == {
        "relevance": {"number": 5},
        "usefulness": {"number": 4},
        "organisation": {"number": 3},
        "practice": {"choice": "right"},
        "recommend": {"choice": "yes"},
    }
    texts = await harness.storage.db.fetchall("SELECT text FROM evaluation_answers")
    assert not any(r[0] and "ропустить" in r[0] for r in texts)


async def test_a_question_answered_by_typing_loses_its_buttons(harness: Harness) -> None:
    event_id = await make_event(harness, program=())
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    assert len(live_questions(harness, MOSCOW_ID)) == 1  # the request, through the outbox
    await p.send("5")  # typed into the request's first question
    live = live_questions(harness, MOSCOW_ID)
    assert len(live) == 1 and "вопрос 2 из 7" in live[0]
    await p.send("4")
    live = live_questions(harness, MOSCOW_ID)
    assert len(live) == 1 and "вопрос 3 из 7" in live[0]
    await p.send("замечательно")  # a hint, and the question again below it
    live = live_questions(harness, MOSCOW_ID)
    assert len(live) == 1 and "вопрос 3 из 7" in live[0] and live[0] == p.last
    await p.send("средне")
    await p.send("Много")
    await p.send("Адвокация")  # no programme: the best block in words
    live = live_questions(harness, MOSCOW_ID)
    assert len(live) == 1 and "вопрос 6 из 7" in live[0]


async def test_a_pause_in_the_main_round_gets_one_nudge_the_reminder(harness: Harness) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    await p.tap("5 — отлично")
    shown = len(p.texts)
    await at(harness, ENDS + timedelta(hours=3))  # the dialogue closed without a word
    assert len(p.texts) == shown and await harness.storage.dialogs.get(MOSCOW_ID) is None
    await at(harness, ENDS + timedelta(hours=24, minutes=2))
    assert len(p.texts) == shown + 1 and "Напоминаем" in p.last and "вопрос 2 из 7" in p.last
    await p.tap("🙂 4")  # answered from the reminder, then a pause again
    await at(harness, ENDS + timedelta(hours=30))
    await at(harness, ENDS + timedelta(days=3))
    assert len(p.texts) == shown + 1 and "вопрос 3 из 7" in p.last
    assert not any("Продолжить можно" in text for text in p.texts)


async def test_a_pause_in_the_follow_up_gets_one_note_and_not_at_night(harness: Harness) -> None:
    event_id = await make_event(harness, evaluation={"template": "short", "followup": True})
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    asked = ENDS + timedelta(days=30, minutes=1)  # 21:31 in Moscow
    await at(harness, asked)
    await p.tap("Частично")
    shown = len(p.texts)
    await at(harness, asked + timedelta(hours=2))  # idle since 23:31 in Moscow: quiet hours
    assert len(p.texts) == shown
    await at(harness, datetime(2026, 12, 23, 4, 59, tzinfo=UTC))  # 07:59 in Moscow
    assert len(p.texts) == shown
    await at(harness, datetime(2026, 12, 23, 5, 0, tzinfo=UTC))  # 08:00 in Moscow
    assert len(p.texts) == shown + 1 and "Продолжить можно" in p.last
    await p.tap("Продолжить")
    assert "вопрос 2 из 2" in p.last
    await at(harness, datetime(2026, 12, 23, 9, 0, tzinfo=UTC))  # a second pause: no note
    assert len(p.texts) == shown + 1
    await p.send("Применили в работе с соседями")  # typed long after: not taken
    assert "не записал в анкету" in p.last
    await p.tap("Продолжить")
    await p.send("Применили в работе с соседями")
    assert "Спасибо" in p.last


async def test_regional_rates_count_requests_and_answers_alike(harness: Harness) -> None:
    """Anonymous: five Moscow participants keep their region, Samara's two do not. Samara's
    rate is one of two (not none of two), and there is no row of answers without a region.
    Two events on the same day with the same title are told apart by their number."""
    await register(harness, COORDINATOR)
    await make_coordinator(harness, COORDINATOR, "all")
    event_id = await make_event(
        harness, regions=("RU-MOW", "RU-SAM"), evaluation={"template": "short", "anonymous": True}
    )
    twin = await make_event(harness, regions=("RU-MOW",))  # same title, same day
    await crowd_going(harness, event_id, CROWD[:5])
    for user_id in SAMARA[:2]:
        await join_samara(harness, user_id, event_id)
    await at(harness, ENDS + timedelta(minutes=1))
    for user_id in CROWD[:5]:
        await answer_with(harness, user_id, event_id, ["5", "4", "s"])
    await answer_with(harness, SAMARA[0], event_id, ["1", "1", "s"])
    c = harness.person(COORDINATOR)
    await c.send("/evaluations 01.11.2026 30.11.2026")
    table = "\n".join(text for text in c.texts if "<pre>" in text or "№" in text)
    lines = table.splitlines()
    moscow = next(line for line in lines if line.startswith("Москва"))
    samara = next(line for line in lines if line.startswith("Самарская"))
    assert moscow.split()[1:] == ["100", "5,0", "4,0", "—"]
    assert samara.removesuffix("</pre>").split()[2:] == ["50", "—", "—", "—"]
    assert "не указан" not in table
    assert "1 анонимная анкета — из региона, где опрошено меньше 5 человек" in table
    # the events: one row each, their numbers in the rows and in the key below the table
    first = next(line for line in lines if line.startswith(f"№{event_id} 22.11"))
    second = next(line for line in lines if line.startswith(f"№{twin} 22.11"))
    assert first != second and first.split()[-4:] == ["86", "4,3", "3,5", "—"]
    assert f"№{event_id} — «Тренинг: медиация», 22.11" in table
    assert f"№{twin} — «Тренинг: медиация», 22.11" in table
    photo = harness.telegram.sent("sendPhoto", chat_id=COORDINATOR)[-1]
    assert "Средние оценки мероприятий 01.11.2026 — 30.11.2026" in photo.params["caption"]
    await c.send("/evaluation")  # the list of recent events tells the two apart as well
    assert set(c.buttons()) == {
        f"№{event_id} 22.11 Тренинг: медиация",
        f"№{twin} 22.11 Тренинг: медиация",
    }


async def test_the_report_shows_the_written_answers_under_their_question(
    harness: Harness,
) -> None:
    event_id = await evaluated_event(harness)
    c = harness.person(COORDINATOR)
    await c.send(f"/evaluation {event_id}")
    summary = next(text for text in c.texts if "📊 <b>Оценка" in text)
    improve = summary.index("6. Что стоит улучшить в следующий раз?")
    written = [summary.index(f"— {text}") for text in ("Больше практики", "Дольше перерывы")]
    assert improve < min(written) and max(written) < summary.index("7. Порекомендовали")
    assert "Ответов текстом: 4, голосовых: 1" in summary
    assert "— =1+1 формула" in summary  # shown as written (the file guards against formulas)
    assert "Ответы своими словами" not in "\n".join(c.texts)  # no separate list any more
    assert "Таблица XLSX" in " ".join(c.buttons())  # the buttons under the summary
    photo = harness.telegram.sent("sendPhoto", chat_id=COORDINATOR)[-1]
    caption = photo.params["caption"]
    assert caption.startswith("📊 «Тренинг: медиация», 22.11.2026: как оценили вопросы")
    assert "доля ответов" in caption and "средняя оценка и число ответов" in caption


async def test_a_long_report_is_paged_with_its_buttons_under_the_last_page(
    harness: Harness,
) -> None:
    await register(harness, COORDINATOR)
    await make_coordinator(harness, COORDINATOR, "RU-MOW")
    event_id = await make_event(harness, regions=("RU-MOW",), evaluation={"template": "short"})
    await crowd_going(harness, event_id, CROWD[:6])
    await at(harness, ENDS + timedelta(minutes=1))
    for n, user_id in enumerate(CROWD[:6]):
        await answer_with(harness, user_id, event_id, ["5", "4", f"text:Отзыв {n} " + "x" * 1900])
    c = harness.person(COORDINATOR)
    await c.send(f"/evaluation {event_id}")
    sent = [call.params["text"] for call in harness.telegram.sent(chat_id=COORDINATOR)]
    start = next(n for n, text in enumerate(sent) if "📊 <b>Оценка" in text)
    report = sent[start:]
    assert len(report) >= 2 and all(len(text) <= 4096 for text in report)
    assert all(f"— Отзыв {n} xxx" in "".join(report) for n in range(6))
    assert "x" * 1000 not in "".join(report)  # cut short in the chat; whole in the file
    assert "Таблица XLSX" in " ".join(c.buttons()) and c.last == report[-1]


async def test_a_button_that_is_not_the_open_questions_brings_that_question_back(
    harness: Harness,
) -> None:
    """As in every other dialogue: not a pointer to /help, and nothing changes."""
    event_id = await make_event(harness, program=())
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    await p.send("5")  # the first question, typed: the second is open now
    before = await stored(harness)
    count = len(p.texts)
    await p.press(
        f"eva:{event_id}:m:5:5", min(m for c, m in harness.telegram.messages if c == MOSCOW_ID)
    )
    assert "вот вопрос, на котором вы остановились" in p.alerts()[-1]
    assert "/help" not in p.alerts()[-1]
    assert len(p.texts) == count + 1 and "вопрос 2 из 7" in p.last
    assert live_questions(harness, MOSCOW_ID) == [p.last]
    assert await stored(harness) == before
