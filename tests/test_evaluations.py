"""Evaluations after events: asking at the end time in each zone, answering every kind of
question, reminders, closing, the follow-up, anonymity, restarts and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from storage.events import NewEvent
from tests.conftest import Harness
from tests.test_admin import make_coordinator
from tests.test_events import join
from tests.test_registration import register

COORDINATOR = 3001
MOSCOW_ID, KALININGRAD_ID, IRKUTSK_ID, SAMARA_ID = 3101, 3102, 3103, 3104
PEOPLE = {
    MOSCOW_ID: ("Центральный", "Москва"),
    KALININGRAD_ID: ("Северо-Западный", "Калининградская область"),
    IRKUTSK_ID: ("Сибирский", "Иркутская область"),
    SAMARA_ID: ("Приволжский", "Самарская область"),
}
REGIONS = ("RU-MOW", "RU-KGD", "RU-IRK", "RU-SAM")
# 18:30 UTC: 21:30 in Moscow, 20:30 in Kaliningrad, 22:30 in Samara, 02:30 in Irkutsk
ENDS = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)
PROGRAM = ("Адвокация", "Международные механизмы", "Инструменты защиты")


async def make_event(
    h: Harness,
    *,
    evaluation: dict[str, Any] | None = None,
    program: tuple[str, ...] = PROGRAM,
    regions: tuple[str, ...] = REGIONS,
) -> int:
    """A published training (set up directly in storage) that ends at ENDS."""
    event = await h.storage.events.create(
        NewEvent(
            title="Тренинг: медиация",
            description="Практический тренинг",
            program=program,
            starts_at=ENDS - timedelta(hours=3),
            ends_at=ENDS,
            tz="Europe/Moscow",
            place="Москва",
            online_url=None,
            capacity=None,
            regions=regions,
            topics=(),
            created_by=None,
            checkin_secret="secret",
            evaluation=evaluation,
        ),
        h.clock(),
    )
    return event.id


async def people_going(h: Harness, event_id: int, ids: tuple[int, ...] = tuple(PEOPLE)) -> None:
    for user_id in ids:
        district, region = PEOPLE[user_id]
        await join(h, user_id, district, region, "Образование")
        person = h.person(user_id)
        await person.send("/events")
        await person.press(f"ev:{event_id}:going")


def questions(h: Harness, user_id: int) -> list[str]:
    return [t for t in h.person(user_id).texts if "📝 Оценка" in t]


async def at(h: Harness, when: datetime) -> None:
    h.clock.now = when
    await h.run_jobs()
    await h.deliver()


async def answer_all(h: Harness, user_id: int) -> None:
    p = h.person(user_id)
    await p.tap("5 — отлично")  # relevance
    await p.tap("🙂 4")  # usefulness
    await p.tap("😐 3")  # organisation
    await p.tap("В самый раз")  # practice
    await p.tap("Международные механизмы")  # best block
    await p.send("Больше времени на разбор случаев")  # improve
    await p.tap("Да")  # recommend


async def test_asked_at_the_end_in_each_zone_and_not_at_night(harness: Harness) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id)
    await at(harness, ENDS - timedelta(minutes=1))
    assert all(questions(harness, user) == [] for user in PEOPLE)
    await at(harness, ENDS + timedelta(minutes=1))
    for user in (MOSCOW_ID, KALININGRAD_ID):
        invite = questions(harness, user)[-1]
        assert "Спасибо, что были на мероприятии «Тренинг: медиация»" in invite
        assert "вопрос 1 из 7" in invite and "актуальной" in invite
    assert questions(harness, IRKUTSK_ID) == [] and questions(harness, SAMARA_ID) == []
    await at(harness, datetime(2026, 11, 22, 23, 59, tzinfo=UTC))  # 07:59 in Irkutsk
    assert questions(harness, IRKUTSK_ID) == []
    await at(harness, datetime(2026, 11, 23, 0, 0, tzinfo=UTC))  # 08:00 in Irkutsk
    assert len(questions(harness, IRKUTSK_ID)) == 1 and questions(harness, SAMARA_ID) == []
    await at(harness, datetime(2026, 11, 23, 4, 0, tzinfo=UTC))  # 08:00 in Samara
    assert len(questions(harness, SAMARA_ID)) == 1
    # asked once each, however often the sweep runs
    await at(harness, datetime(2026, 11, 23, 5, 0, tzinfo=UTC))
    assert all(len(questions(harness, user)) == 1 for user in PEOPLE)


async def test_those_who_checked_in_are_asked_rather_than_those_who_said_going(
    harness: Harness,
) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID, KALININGRAD_ID))
    member = await harness.storage.members.by_telegram_id(KALININGRAD_ID)
    assert member is not None
    await harness.storage.events.check_in(event_id, member.id, ENDS - timedelta(hours=2))
    await at(harness, ENDS + timedelta(minutes=1))
    assert questions(harness, MOSCOW_ID) == [] and len(questions(harness, KALININGRAD_ID)) == 1


async def test_a_whole_questionnaire_by_buttons_and_text(harness: Harness) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    await answer_all(harness, MOSCOW_ID)
    p = harness.person(MOSCOW_ID)
    assert "Спасибо! Ваши ответы сохранены" in p.last and "✏️ Изменить ответы" in p.buttons()
    responses = await harness.storage.evaluations.responses(event_id, "main")
    assert len(responses) == 1
    answers = {k: a.as_dict() for k, a in responses[0].answers.items()}
    member = await harness.storage.members.by_telegram_id(MOSCOW_ID)
    assert member is not None and responses[0].member_id == member.id
    assert answers == {
        "relevance": {"number": 5},
        "usefulness": {"number": 4},
        "organisation": {"number": 3},
        "practice": {"choice": "right"},
        "best_block": {"choice": "block:1", "text": "Международные механизмы"},
        "improve": {"text": "Больше времени на разбор случаев"},
        "recommend": {"choice": "yes"},
    }
    assert await harness.storage.dialogs.get(MOSCOW_ID) is None
    # a repeated tap on the last question changes nothing
    await p.press(f"eva:{event_id}:m:6:0")
    assert "уже ответили" in p.alerts()[-1]
    assert len(await harness.storage.evaluations.responses(event_id, "main")) == 1


async def test_voice_skip_and_wrong_input_at_each_kind_of_question(harness: Harness) -> None:
    event_id = await make_event(harness, program=())
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    await p.send("замечательно")  # a word that is on no button
    assert "выберите ответ кнопкой" in p.texts[-2] and "вопрос 1 из 7" in p.last
    await p.send("5")  # a typed digit is as good as the button
    assert "вопрос 2 из 7" in p.last
    await p.press(f"eva:{event_id}:m:1:9")  # out of range (forged)
    assert "не действует" in p.alerts()[-1]
    await p.press(f"eva:{event_id}:m:0:4")  # an older question again
    assert "уже записан" in p.alerts()[-1]
    await p.tap("🙂 4")
    await p.tap("😐 3")
    await p.send("многовато")  # not one of the options
    assert "выберите ответ кнопкой" in p.texts[-2]
    await p.send("много")  # typed, an option counts like its button
    assert "напишите" in p.last.lower()  # no program: the best block is free text
    await p.tap("Пропустить")
    await p.send("x" * 2001)
    assert "до 2000 символов" in p.texts[-2]
    await p.send(None, voice={"file_id": "voice-7", "file_unique_id": "v7", "duration": 5})
    await p.tap("Возможно")
    responses = await harness.storage.evaluations.responses(event_id, "main")
    answers = responses[0].answers
    assert answers["relevance"].number == 5 and answers["practice"].choice == "much"
    assert "best_block" not in answers and answers["improve"].voice == "voice-7"
    assert answers["recommend"].choice == "maybe"


async def test_one_reminder_then_closed(harness: Harness) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID, KALININGRAD_ID))
    await at(harness, ENDS + timedelta(minutes=1))
    await answer_all(harness, MOSCOW_ID)
    k = harness.person(KALININGRAD_ID)
    await k.tap("5 — отлично")
    await k.tap("🙂 4")
    await at(harness, ENDS + timedelta(hours=23))
    assert not any("Напоминаем" in text for text in k.texts)
    await at(harness, ENDS + timedelta(hours=24, minutes=2))
    reminder = [text for text in k.texts if "Напоминаем" in text]
    assert len(reminder) == 1 and "отвечено 2 из 7" in reminder[0]
    assert "вопрос 3 из 7" in reminder[0]  # it goes on where they stopped
    assert not any("Напоминаем" in text for text in harness.person(MOSCOW_ID).texts)
    await at(harness, ENDS + timedelta(hours=30))
    assert len([text for text in k.texts if "Напоминаем" in text]) == 1  # once
    await k.tap("😐 3")
    assert "вопрос 4 из 7" in k.last
    await at(harness, ENDS + timedelta(days=7, minutes=2))
    await k.tap("В самый раз")
    assert "закрыта" in k.alerts()[-1]
    asked = await harness.storage.evaluations.counts(event_id, "main")
    assert asked == (2, 1)


async def test_answers_can_be_changed_until_closing(harness: Harness) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    await answer_all(harness, MOSCOW_ID)
    p = harness.person(MOSCOW_ID)
    await p.tap("Изменить ответы")
    assert "вопрос 1 из 7" in p.last
    await p.tap("😞 1")
    await p.tap("😞 1")
    await p.tap("😞 1")
    await p.tap("Мало")
    await p.tap("Адвокация")
    await p.tap("Пропустить")
    await p.tap("Нет")
    responses = await harness.storage.evaluations.responses(event_id, "main")
    assert len(responses) == 1
    assert responses[0].answers["relevance"].number == 1
    assert "improve" not in responses[0].answers


async def test_anonymous_answers_keep_no_link_and_cannot_be_given_twice(
    harness: Harness,
) -> None:
    event_id = await make_event(harness, evaluation={"template": "short", "anonymous": True})
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    assert "анонимная" in p.last and "вопрос 1 из 3" in p.last
    await p.tap("5 — отлично")
    await p.tap("🙂 4")
    await p.send("Всё хорошо")
    assert "сохранены анонимно" in p.last and "Изменить" not in str(p.texts[-1])
    member = await harness.storage.members.by_telegram_id(MOSCOW_ID)
    assert member is not None
    rows = await harness.storage.db.fetchall("SELECT * FROM evaluation_responses")
    assert len(rows) == 1 and rows[0]["member_id"] is None
    assert rows[0]["submitted_on"] == ENDS.date().isoformat()  # the day only
    assert rows[0]["id"] not in (1, member.id)  # a random id, not a sequence
    await p.press(f"eva:{event_id}:m:2:s")
    await p.press(f"eva:{event_id}:m:redo")
    assert "нельзя" in p.alerts()[-1]
    assert len(await harness.storage.db.fetchall("SELECT * FROM evaluation_responses")) == 1


async def test_strangers_and_forged_buttons_change_nothing(harness: Harness) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID,))
    await join(harness, 3199, "Центральный", "Москва", "Образование")  # registered, not going
    await at(harness, ENDS + timedelta(minutes=1))
    outsider = harness.person(3199)
    await outsider.press(f"eva:{event_id}:m:0:5", message_id=1)
    assert "для участников мероприятия" in outsider.alerts()[-1]
    stranger = harness.person(3198)
    await stranger.press(f"eva:{event_id}:m:0:5", message_id=1)
    assert "зарегистрируйтесь" in stranger.alerts()[-1]
    p = harness.person(MOSCOW_ID)
    for data in (f"eva:{event_id}:x:0:5", "eva:999:m:0:5", f"eva:{event_id}:m", "eva:a:m:0:5"):
        await p.press(data)
    assert p.alerts()[-1] and await harness.storage.evaluations.responses(event_id, "main") == []
    asked = await harness.storage.evaluations.asked(event_id, 1, "main")
    assert asked is None or asked.draft is None


async def test_a_half_answered_questionnaire_resumes_after_a_restart(harness: Harness) -> None:
    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    await p.tap("5 — отлично")
    await p.tap("🙂 4")
    await p.tap("😐 3")
    await p.tap("В самый раз")
    await p.tap("Адвокация")
    from bot.runtime.app import build_application
    from tests.fake_telegram import FakeRequest

    settings = harness.app.bot_data.settings
    assert settings is not None
    old = harness.app
    harness.app = build_application(
        settings,
        storage=harness.storage,
        request=FakeRequest(harness.telegram),
        clock=harness.clock,
        start_delivery=False,
    )
    await harness.app.initialize()
    assert harness.app.post_init is not None
    await harness.app.post_init(harness.app)
    await p.send("Больше практики")  # typed into the question that was open
    assert "вопрос 7 из 7" in p.last
    # a day later the dialogue has long expired: the one reminder goes on where they stopped
    await at(harness, ENDS + timedelta(hours=24, minutes=2))
    assert "Напоминаем" in p.last and "вопрос 7 из 7" in p.last
    await p.tap("Да")
    responses = await harness.storage.evaluations.responses(event_id, "main")
    assert len(responses) == 1 and len(responses[0].answers) == 7
    await harness.app.shutdown()
    harness.app = old


async def test_the_follow_up_a_month_later(harness: Harness) -> None:
    event_id = await make_event(harness, evaluation={"template": "short", "followup": True})
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    await at(harness, ENDS + timedelta(days=29))
    assert not any("Месяц назад" in text for text in p.texts)
    await at(harness, ENDS + timedelta(days=30, minutes=1))
    assert "Месяц назад" in p.last and "Удалось ли применить" in p.last
    await p.tap("Частично")
    await p.send("Применили медиацию в споре соседей")
    assert "Спасибо" in p.last
    follow = await harness.storage.evaluations.responses(event_id, "followup")
    assert follow[0].answers["applied"].choice == "partly"
    assert follow[0].answers["applied_comment"].text == "Применили медиацию в споре соседей"


async def test_cancelled_events_and_events_without_questionnaire_ask_nobody(
    harness: Harness,
) -> None:
    silent = await make_event(harness, evaluation={"template": "none"})
    await people_going(harness, silent, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    assert questions(harness, MOSCOW_ID) == []


# ---------------------------------------------------------------- results for coordinators

CROWD = tuple(range(3201, 3208))  # seven members in Moscow


async def crowd_going(h: Harness, event_id: int, ids: tuple[int, ...] = CROWD) -> None:
    for user_id in ids:
        await join(h, user_id, "Центральный", "Москва", "Образование")
        person = h.person(user_id)
        await person.send("/events")
        await person.press(f"ev:{event_id}:going")


async def answer_with(h: Harness, user_id: int, event_id: int, values: list[str]) -> None:
    """Answer question after question: button values, or 'text:...' / 'voice:...'."""
    p = h.person(user_id)
    for n, value in enumerate(values):
        if value.startswith("text:"):
            await p.send(value[5:])
        elif value.startswith("voice:"):
            await p.send(None, voice={"file_id": value[6:], "file_unique_id": value, "duration": 3})
        else:
            await p.press(f"eva:{event_id}:m:{n}:{value}")
    assert "Спасибо!" in p.last, p.screen()


# relevance, usefulness, organisation, practice, best block, improve, recommend
ANSWERS = [
    ["5", "4", "5", "0", "b0", "text:Больше практики", "0"],
    ["5", "4", "4", "1", "b0", "text:Раздаточные материалы заранее", "0"],
    ["4", "4", "5", "1", "b0", "voice:voice-a", "0"],
    ["4", "4", "4", "1", "b1", "text:Дольше перерывы", "0"],
    ["3", "4", "5", "1", "b1", "text:=1+1 формула", "0"],
    ["2", "4", "4", "2", "s", "s", "2"],
]


async def evaluated_event(h: Harness) -> int:
    await register(h, COORDINATOR)
    await make_coordinator(h, COORDINATOR, "RU-MOW")
    event_id = await make_event(h, regions=("RU-MOW",))
    await crowd_going(h, event_id)
    await at(h, ENDS + timedelta(minutes=1))
    for user_id, values in zip(CROWD, ANSWERS, strict=False):
        await answer_with(h, user_id, event_id, values)
    return event_id


async def test_the_report_of_one_event_matches_hand_computed_figures(harness: Harness) -> None:
    event_id = await evaluated_event(harness)
    c = harness.person(COORDINATOR)
    await c.send(f"/evaluation {event_id}")
    summary = next(text for text in c.texts if "📊 <b>Оценка" in text)
    assert "Ответили: <b>6 из 7</b> (86 %)" in summary
    # relevance 5+5+4+4+3+2 = 23 / 6 = 3.83; usefulness 4.0; organisation 27 / 6 = 4.5
    assert "Средняя оценка <b>3,8</b> из 5 (ответов: 6)" in summary
    assert "Средняя оценка <b>4,0</b> из 5 (ответов: 6)" in summary
    assert "Средняя оценка <b>4,5</b> из 5 (ответов: 6)" in summary
    assert "5 ▇▇▇ 2\n4 ▇▇▇ 2\n3 ▇ 1\n2 ▇ 1\n1 · 0" in summary
    assert "Мало — 1; В самый раз — 4; Много — 1" in summary
    assert "Адвокация — 3; Международные механизмы — 2" in summary
    assert "Ответов текстом: 4, голосовых: 1" in summary
    assert "Да — 5; Нет — 1" in summary
    texts = c.texts[-1]
    assert "Больше практики" in texts and "Дольше перерывы" in texts
    photo = harness.telegram.sent("sendPhoto", chat_id=COORDINATOR)[-1]
    assert photo.files["photo"][1].startswith(b"\x89PNG\r\n\x1a\n")
    # the voice answer is forwarded on request
    await c.tap("Голосовые ответы (1)")
    assert harness.telegram.sent("sendVoice", chat_id=COORDINATOR)[-1].params["voice"] == "voice-a"


async def test_the_spreadsheet_reads_back(harness: Harness) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    event_id = await evaluated_event(harness)
    c = harness.person(COORDINATOR)
    await c.send(f"/evaluation {event_id}")
    await c.tap("Таблица XLSX")
    xlsx = harness.telegram.sent("sendDocument", chat_id=COORDINATOR)[-1]
    book = load_workbook(io.BytesIO(xlsx.files["document"][1]))
    summary = list(book["Сводка"].iter_rows(values_only=True))
    assert summary[0][:5] == ("Мероприятие", "Дата", "Опрошено", "Ответили", "Доля ответивших")
    assert summary[1][:5] == ("Тренинг: медиация", "22.11.2026", 7, 6, 0.857)
    assert summary[1][5:8] == (3.83, 4.0, 4.5)
    sheet = list(book.worksheets[1].iter_rows(values_only=True))
    assert sheet[0][:4] == ("Участник", "Организация", "Регион", "Дата ответа")
    assert len(sheet) == 7 and sheet[1][0] == "Участник 3201" and sheet[1][2] == "Москва"
    answers = sheet[5]
    assert answers[4:] == (3, 4, 5, "В самый раз", "Международные механизмы", "'=1+1 формула", "Да")
    await c.tap("CSV")
    rows = list(
        csv.reader(
            io.StringIO(
                harness.telegram.sent("sendDocument", chat_id=COORDINATOR)[-1]
                .files["document"][1]
                .decode("utf-8-sig")
            )
        )
    )
    assert rows[0] == ["Мероприятие", "Дата", "№ анкеты", "Вопрос", "Ответ"]
    assert [
        "Тренинг: медиация",
        "22.11.2026",
        "6",
        "Порекомендовали бы вы такое мероприятие коллегам из других НКО?",
        "Нет",
    ] in rows


async def test_an_anonymous_export_has_no_member_data(harness: Harness) -> None:
    import io

    from openpyxl import load_workbook

    await register(harness, COORDINATOR)
    await make_coordinator(harness, COORDINATOR, "RU-MOW")
    event_id = await make_event(
        harness, regions=("RU-MOW",), evaluation={"template": "short", "anonymous": True}
    )
    await crowd_going(harness, event_id, CROWD[:2])
    await at(harness, ENDS + timedelta(minutes=1))
    for user_id in CROWD[:2]:
        await answer_with(harness, user_id, event_id, ["5", "4", "s"])
    c = harness.person(COORDINATOR)
    await c.send(f"/evaluation {event_id}")
    assert "анонимная" in c.texts[-1]
    await c.tap("Таблица XLSX")
    xlsx = harness.telegram.sent("sendDocument", chat_id=COORDINATOR)[-1]
    sheet = list(load_workbook(io.BytesIO(xlsx.files["document"][1])).worksheets[1].values)
    assert "Участник" not in sheet[0] and "Организация" not in sheet[0]
    assert not any("Участник 32" in str(v) for row in sheet for v in row)
    # two participants from Moscow: too few to keep even their region
    assert all(row[0] in ("", None) for row in sheet[1:])


async def test_comparing_events_hides_small_cells(harness: Harness) -> None:
    await evaluated_event(harness)
    small = await make_event(harness, regions=("RU-MOW",))
    await harness.storage.db.execute(
        "UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?",
        ("2026-11-25T15:30:00.000000Z", "2026-11-25T18:30:00.000000Z", small),
    )
    await harness.storage.db.execute(
        "INSERT INTO rsvps (event_id, member_id, answer, answered_at)"
        " SELECT ?, id, 'going', '2026-11-22T09:00:00.000000Z' FROM members"
        " WHERE telegram_id IN (3201, 3202)",
        (small,),
    )
    await at(harness, datetime(2026, 11, 25, 18, 31, tzinfo=UTC))
    for user_id in (3201, 3202):
        await answer_with(harness, user_id, small, ["5", "5", "5", "0", "b2", "s", "0"])
    c = harness.person(COORDINATOR)
    await c.send("/evaluations 01.11.2026 30.11.2026")
    table = "\n".join(c.texts[-2:])
    assert "мероприятий: 2" in table
    first = next(line for line in table.splitlines() if "22.11" in line)
    second = next(line for line in table.splitlines() if "25.11" in line)
    assert "86" in first and "3,8" in first and "4,0" in first and "4,5" in first
    assert "100" in second and "—" in second and "5,0" not in second  # 2 answers: hidden
    # by region: 8 answers from Moscow; relevance (23 + 10) / 8 = 4.1
    moscow = next(line for line in table.splitlines() if line.startswith("Москва"))
    assert "4,1" in moscow
    assert harness.telegram.sent("sendPhoto", chat_id=COORDINATOR)[-1].files["photo"][1][:4] == (
        b"\x89PNG"
    )
    await c.tap("Таблица XLSX")
    assert (
        harness.telegram.sent("sendDocument", chat_id=COORDINATOR)[-1].files["document"][0]
        == "evaluations-20261101-20261130.xlsx"
    )


async def test_results_are_for_the_events_coordinators_only(harness: Harness) -> None:
    event_id = await evaluated_event(harness)
    await register(harness, 3002)
    await make_coordinator(harness, 3002, "RU-SAM")
    other = harness.person(3002)
    await other.send(f"/evaluation {event_id}")
    assert "не ваших регионов" in other.last
    await other.press(f"evr:{event_id}:mx", message_id=1)
    assert other.alerts()[-1]
    member = harness.person(CROWD[0])
    await member.send(f"/evaluation {event_id}")
    assert "только координаторам" in member.last
    await member.send("/evaluations")
    assert "только координаторам" in member.last
    await other.send("/evaluations")
    assert "нет мероприятий" in other.last
    await other.send("/evaluations вчера " + "x" * 5000)  # not a period, and huge
    assert "Не понял период" in other.last
    for data in ("evr:1:zz", "evr:²:main", "evs:2026:x", "evs:20261301:20261130:x"):
        await other.press(data, message_id=1)
        assert "не действует" in other.alerts()[-1], data
    assert not harness.telegram.sent("sendDocument", chat_id=3002)


async def test_a_coordinator_chooses_the_questionnaire_and_adds_own_questions(
    harness: Harness,
) -> None:
    await register(harness, COORDINATOR)
    await make_coordinator(harness, COORDINATOR, "RU-SAM")
    c = harness.person(COORDINATOR)
    await c.send("/new_event")
    await c.send("Семинар: медиация")
    await c.send("Практический семинар о медиации в конфликтах.")
    await c.send("Теория\nПрактика")
    await c.send("25.11 14:00")
    await c.tap("3 часа")
    await c.send("Самара, ул. Ленинградская, 1")
    await c.tap("Готово")  # no topics
    await c.tap("Без ограничения")
    assert "Анкета после мероприятия" in c.last and "Стандартная, 7 вопросов" in c.last
    await c.tap("Короткая")
    await c.tap("Анонимно: нет")
    await c.tap("Через месяц: нет")
    assert "Анонимно: да" in " ".join(c.buttons()) and "Через месяц: да" in " ".join(c.buttons())
    await c.tap("Добавить свой вопрос")
    await c.tap("Выбор из вариантов")
    await c.send("Ок")
    assert "от 3 до 200 символов" in c.last
    await c.send("Какая тема интереснее для следующего семинара?")
    await c.send("Право")
    assert "от 2 до 6 вариантов" in c.last
    await c.send("Право\nЭкономика\nКультура")
    assert "1. Какая тема интереснее" in c.last
    await c.tap("Добавить свой вопрос")
    await c.tap("Оценка от 1 до 5")
    await c.send("Насколько удобным было место?")
    await c.tap("Добавить свой вопрос")
    await c.tap("Назад")  # changed their mind
    assert "2. Насколько удобным было место?" in c.last
    await c.tap("Готово ➡️")
    assert "Анкета: Короткая, 5 вопросов, анонимная, через месяц" in c.last
    await c.tap("Опубликовать")
    event_id = 1
    config = await harness.storage.evaluations.config(event_id)
    assert config is not None and config.template == "short"
    assert config.anonymous and config.followup
    assert config.custom == (
        {
            "kind": "choice",
            "text": "Какая тема интереснее для следующего семинара?",
            "options": ["Право", "Экономика", "Культура"],
        },
        {"kind": "scale", "text": "Насколько удобным было место?"},
    )
    # a participant gets the coordinator's questions after the template's
    await join(harness, 3301, "Приволжский", "Самарская область", "Образование")
    p = harness.person(3301)
    await p.send("/events")
    await p.press(f"ev:{event_id}:going")
    await at(harness, datetime(2026, 11, 25, 13, 1, tzinfo=UTC))  # 17:01 in Samara
    await p.tap("5 — отлично")
    await p.tap("🙂 4")
    await p.tap("Пропустить")
    assert "Какая тема интереснее" in p.last and "вопрос 4 из 5" in p.last
    await p.send("экономика")  # the coordinator's options can be typed
    assert "Насколько удобным было место?" in p.last
    await p.tap("😐 3")
    responses = await harness.storage.evaluations.responses(event_id, "main")
    answers = responses[0].answers
    assert answers["custom1"].choice == "Экономика" and answers["custom2"].number == 3


async def test_mydata_lists_own_answers_and_forget_unlinks_them(harness: Harness) -> None:
    import json

    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    await answer_all(harness, MOSCOW_ID)
    p = harness.person(MOSCOW_ID)
    await p.send("/mydata")
    data = json.loads(
        harness.telegram.sent("sendDocument", chat_id=MOSCOW_ID)[-1].files["document"][1]
    )
    assert data["evaluation_answers"][0]["answers"]["improve"] == {
        "text": "Больше времени на разбор случаев"
    }
    await p.send("/forget")
    await p.tap("Да, удалить")
    rows = await harness.storage.db.fetchall(
        "SELECT member_id, submitted_on FROM evaluation_responses"
    )
    assert [tuple(r) for r in rows] == [(None, ENDS.date().isoformat())]  # figures stay, nobody
    assert await harness.storage.db.fetchall("SELECT * FROM evaluation_participants") == []


async def test_an_answer_cut_off_by_a_restart_is_not_taken_for_the_next_question(
    harness: Harness,
) -> None:
    """The free answer was saved, then the process died before the update was marked handled;
    Telegram sends it again. The next question is shown again; the answer is stored once."""
    from tests import factories

    event_id = await make_event(harness)
    await people_going(harness, event_id, (MOSCOW_ID,))
    await at(harness, ENDS + timedelta(minutes=1))
    p = harness.person(MOSCOW_ID)
    for label in ("5 — отлично", "🙂 4", "😐 3", "В самый раз", "Международные механизмы"):
        await p.tap(label)
    update = factories.message_update(harness.app.bot, p.user, "Больше практики")
    await harness.app.process_update(update)
    assert "вопрос 7 из 7" in p.last
    await harness.storage.db.execute(
        "UPDATE processed_updates SET done = 0 WHERE update_id = ?", (update.update_id,)
    )
    before = len(p.texts)
    await harness.app.process_update(update)
    assert len(p.texts) == before + 1 and "вопрос 7 из 7" in p.last
    await p.tap("Да")
    assert "Спасибо! Ваши ответы сохранены" in p.last
    responses = await harness.storage.evaluations.responses(event_id, "main")
    assert responses[0].answers["improve"].as_dict() == {"text": "Больше практики"}
    assert responses[0].answers["recommend"].as_dict() == {"choice": "yes"}
