"""Evaluations of an event with participants from several regions (#12): a regional coordinator
sees the answers of their own regions' participants one by one, the other regions only as
figures, small cells as "—"; in the message, the chart, XLSX, CSV, the voice forwards and
/evaluations. The event's creator, federal coordinators and admins see everything."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook

from bot.evaluations.charts import chart_rows
from bot.evaluations.reports import event_report, hidden_counts, report_text
from bot.roles.access import identify
from bot.settings import Settings
from bot.timefmt import MOSCOW
from tests.conftest import ADMIN_ID, Harness, Person
from tests.test_admin import make_coordinator
from tests.test_evaluations import ANSWERS, CROWD, ENDS, answer_with, at, crowd_going, make_event
from tests.test_registration import register

MOSCOW_COORD, SAMARA_COORD, CREATOR, FEDERAL = 3001, 3002, 3003, 3004
SAMARA = (3301, 3302, 3303)  # three participants from Samara: a small cell for Moscow's view
SAMARA_ANSWERS = [
    ["1", "1", "1", "2", "b2", "text:Самарский отзыв первый", "2"],
    ["1", "1", "1", "2", "b2", "voice:voice-sam", "2"],
    ["1", "1", "1", "2", "b2", "text:Самарский отзыв второй", "2"],
]
# what must never reach Moscow's coordinator one by one
SAMARA_SECRETS = ("Самарец", "Самарская НКО", "Самарский отзыв", "voice-sam")
# and what must never reach Samara's coordinator one by one (Moscow: six answer sets)
MOSCOW_SECRETS = ("Участник 32", "Больше практики", "Дольше перерывы", "voice-a")


async def join_samara(h: Harness, user_id: int, event_id: int) -> None:
    p = h.person(user_id)
    await p.send("/start")
    await p.tap("Даю согласие")
    await p.send(f"Самарец {user_id}")
    await p.send("Самарская НКО «Волга»")
    await p.tap("Приволжский")
    await p.tap("Самарская область")
    await p.tap("Образование")
    await p.tap("Готово")
    await p.tap("Всё верно")
    await p.send("/events")
    await p.press(f"ev:{event_id}:going")


async def two_region_event(h: Harness) -> int:
    """A training for Moscow and Samara: seven Moscow participants (six answer), three from
    Samara (all answer); coordinators of each region, the event's creator (a coordinator of
    Moscow: a creator sees everything only while they coordinate one of the event's regions),
    a federal one."""
    for user_id, scope in (
        (MOSCOW_COORD, "RU-MOW"),
        (SAMARA_COORD, "RU-SAM"),
        (CREATOR, "RU-MOW"),
        (FEDERAL, "all"),
    ):
        await register(h, user_id, name=f"Координатор {user_id}")
        await make_coordinator(h, user_id, scope)
    event_id = await make_event(h, regions=("RU-MOW", "RU-SAM"))
    creator = await h.storage.members.by_telegram_id(CREATOR)
    assert creator is not None
    await h.storage.db.execute(
        "UPDATE events SET created_by = ? WHERE id = ?", (creator.id, event_id)
    )
    await crowd_going(h, event_id)
    for user_id in SAMARA:
        await join_samara(h, user_id, event_id)
    await at(h, ENDS + timedelta(minutes=1))
    for user_id, values in zip(CROWD, ANSWERS, strict=False):
        await answer_with(h, user_id, event_id, values)
    for user_id, values in zip(SAMARA, SAMARA_ANSWERS, strict=True):
        await answer_with(h, user_id, event_id, values)
    return event_id


def summary_of(p: Person) -> str:
    return next(text for text in reversed(p.texts) if "📊 <b>Оценка" in text)


def everything_seen(h: Harness, p: Person) -> str:
    """Every text, caption, file and voice that reached the person's chat, as one string."""
    parts = list(p.texts)
    for call in h.telegram.calls:
        if call.params.get("chat_id") != p.id:
            continue
        parts += [str(v) for v in call.params.values()]
        for _name, content in call.files.values():
            if content[:2] == b"PK":  # XLSX: every cell
                book = load_workbook(io.BytesIO(content))
                parts += [str(v) for s in book.worksheets for row in s.values for v in row]
            elif not content.startswith(b"\x89PNG"):
                parts.append(content.decode("utf-8-sig"))
    return "\n".join(parts)


def xlsx_rows(h: Harness, chat_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    document = h.telegram.sent("sendDocument", chat_id=chat_id)[-1].files["document"][1]
    book = load_workbook(io.BytesIO(document))
    return list(book.worksheets[0].values), list(book.worksheets[1].values)


def csv_rows(h: Harness, chat_id: int) -> list[list[str]]:
    document = h.telegram.sent("sendDocument", chat_id=chat_id)[-1].files["document"][1]
    return list(csv.reader(io.StringIO(document.decode("utf-8-sig"))))


async def test_a_regional_coordinator_sees_other_regions_only_in_aggregate(
    harness: Harness, settings: Settings
) -> None:
    event_id = await two_region_event(harness)
    c = harness.person(MOSCOW_COORD)
    await c.send(f"/evaluation {event_id}")
    summary = summary_of(c)
    assert "Ответили: <b>9 из 10</b> (90 %)" in summary
    assert "ваших регионов (анкет: 6). Из других регионов — 3 анкеты: только итоги" in summary
    # Moscow's figures as in the one-region event; Samara's three answer sets: "—" everywhere
    assert "Средняя оценка <b>3,8</b> из 5 (ответов: 6)" in summary
    assert "5 ▇▇▇ 2\n4 ▇▇▇ 2\n3 ▇ 1\n2 ▇ 1\n1 · 0" in summary
    assert summary.count("<i>Другие регионы:</i> средняя —") == 3
    assert "<i>Другие регионы:</i> Мало: —; В самый раз: —; Много: —" in summary
    assert (
        "<i>Другие регионы:</i> Адвокация: —; Международные механизмы: —; Инструменты защиты: —"
        in summary
    )
    assert "<i>Другие регионы:</i> ответов: —" in summary
    assert "<i>Другие регионы:</i> Да: —; Возможно: —; Нет: —" in summary
    assert "Больше практики" in c.texts[-1]  # Moscow's own words are listed
    # the chart: Moscow's marks as bars, the other regions' average hidden
    caller = await identify(harness.storage, settings, MOSCOW_COORD)
    report = await event_report(harness.storage, caller, event_id, "en")
    english = report_text(report, "en", MOSCOW)
    assert "From other regions, 3 answer sets" in english
    assert english.count("<i>Other regions:</i> average —") == 3
    rows = chart_rows(await event_report(harness.storage, caller, event_id, "ru"), "ru")
    assert [r.label for r in rows] == ["Актуальность", "Польза", "Организация"]
    assert rows[0].shares[5] == 2 / 6 * 100 and rows[0].shares[1] == 0
    assert rows[0].note == "3,8 (n=6)\nсредняя —"
    assert harness.telegram.sent("sendPhoto", chat_id=MOSCOW_COORD)[-1].files["photo"][1][:4] == (
        b"\x89PNG"
    )
    # voices: Moscow's only
    await c.tap("Голосовые ответы (1)")
    voices = [call.params["voice"] for call in harness.telegram.sent("sendVoice", chat_id=c.id)]
    assert voices == ["voice-a"]
    # XLSX: six named Moscow rows, then the other regions' figures
    await c.tap("Таблица XLSX")
    summary_sheet, sheet = xlsx_rows(harness, MOSCOW_COORD)
    # one decimal where other regions are pooled: finer, compared over time, gives answers away
    assert summary_sheet[1][:8] == ("Тренинг: медиация", "22.11.2026", 10, 9, 0.9, 3.8, 4.0, 4.5)
    assert [row[2] for row in sheet[1:7]] == ["Москва"] * 6
    assert all(str(row[0]).startswith("Участник 32") for row in sheet[1:7])
    assert all(v in (None, "") for v in sheet[7])  # a blank row, then the figures
    assert sheet[8][0] == "Другие регионы (3 анкеты)"
    assert sheet[8][4:] == (
        "—",
        "—",
        "—",
        "Мало: —; В самый раз: —; Много: —",
        "Адвокация: —; Международные механизмы: —; Инструменты защиты: —",
        "ответов: —",
        "Да: —; Возможно: —; Нет: —",
    )
    assert len(sheet) == 9
    await c.tap("CSV")
    rows_csv = csv_rows(harness, MOSCOW_COORD)
    assert {row[2] for row in rows_csv[1:]} == {
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "Другие регионы (3 анкеты)",
    }
    others = [row for row in rows_csv if row[2] == "Другие регионы (3 анкеты)"]
    assert len(others) == 7 and others[0][4] == "—"
    # /evaluations: the event's averages leave Samara's three out; Samara's row is hidden
    await c.send("/evaluations 01.11.2026 30.11.2026")
    table = "\n".join(c.texts[-2:])
    line = next(line for line in table.splitlines() if "22.11" in line)
    assert "90" in line and "3,8" in line and "4,0" in line and "4,5" in line
    assert "Самарская" not in table  # no row of its own: the other regions are one row
    pooled = next(line for line in table.splitlines() if line.startswith("Другие регионы"))
    assert pooled.removesuffix("</pre>").split()[2:] == ["100", "—", "—", "—"]
    assert "Другие регионы» — участники из регионов, которые вы не координируете" in table
    await c.tap("Таблица XLSX")
    _summary, sheet = xlsx_rows(harness, MOSCOW_COORD)
    assert sheet[8][0] == "Другие регионы (3 анкеты)"
    await c.tap("CSV")
    seen = everything_seen(harness, c)
    assert "Участник 3201" in seen and "Больше практики" in seen and "voice-a" in seen
    for secret in SAMARA_SECRETS:
        assert secret not in seen, secret


def test_small_counts_are_hidden_so_that_none_can_be_worked_out() -> None:
    yes, maybe, no = "Да", "Возможно", "Нет"
    assert hidden_counts([(yes, 6), (maybe, 0), (no, 0)]) == [(yes, 6), (maybe, None), (no, None)]
    assert hidden_counts([(yes, 5), (maybe, 0), (no, 1)]) == [
        (yes, None),
        (maybe, None),
        (no, None),
    ]
    # two small cells of 2 and 3 hide each other; one of 2 takes the smallest shown with it
    assert hidden_counts([(yes, 7), (maybe, 2), (no, 3)]) == [(yes, 7), (maybe, None), (no, None)]
    assert hidden_counts([(yes, 9), (maybe, 6), (no, 2)]) == [(yes, 9), (maybe, None), (no, None)]
    assert hidden_counts([(yes, 5), (no, 5)]) == [(yes, 5), (no, 5)]


async def test_five_or_more_from_other_regions_give_averages_and_big_counts(
    harness: Harness, settings: Settings
) -> None:
    event_id = await two_region_event(harness)
    c = harness.person(SAMARA_COORD)
    await c.send(f"/evaluation {event_id}")
    summary = summary_of(c)
    assert "ваших регионов (анкет: 3). Из других регионов — 6 анкет: только итоги" in summary
    assert "Средняя оценка <b>1,0</b> из 5 (ответов: 3)" in summary
    for average in ("3,8", "4,0", "4,5"):  # Moscow's six answer sets: enough for averages
        assert f"<i>Другие регионы:</i> средняя {average}" in summary
    assert "<i>Другие регионы:</i> Мало: —; В самый раз: —; Много: —" in summary  # 1, 4, 1
    # five said yes, one no: "5" with six answer sets would give the "no" away, so it is hidden
    assert "<i>Другие регионы:</i> Да: —; Возможно: —; Нет: —" in summary
    assert "<i>Другие регионы:</i> ответов: 5" in summary  # four texts and a voice
    assert "Самарский отзыв первый" in c.texts[-1]
    caller = await identify(harness.storage, settings, SAMARA_COORD)
    rows = chart_rows(await event_report(harness.storage, caller, event_id, "ru"), "ru")
    assert [r.note for r in rows] == [
        "1,0 (n=3)\nсредняя 3,8",
        "1,0 (n=3)\nсредняя 4,0",
        "1,0 (n=3)\nсредняя 4,5",
    ]
    assert rows[0].shares[1] == 100
    await c.tap("Голосовые ответы (1)")
    voices = [call.params["voice"] for call in harness.telegram.sent("sendVoice", chat_id=c.id)]
    assert voices == ["voice-sam"]
    await c.tap("Таблица XLSX")
    summary_sheet, sheet = xlsx_rows(harness, SAMARA_COORD)
    # the averages take in Moscow's six: relevance (23 + 3) / 9, usefulness 27 / 9, org. 30 / 9
    assert summary_sheet[1][5:8] == (2.9, 3.0, 3.3)
    assert [row[0] for row in sheet[1:4]] == ["Самарец 3301", "Самарец 3302", "Самарец 3303"]
    assert sheet[5][0] == "Другие регионы (6 анкет)"
    assert sheet[5][4:7] == (3.8, 4.0, 4.5) and sheet[5][10] == "Да: —; Возможно: —; Нет: —"
    assert len(sheet) == 6
    await c.tap("CSV")
    others = [row for row in csv_rows(harness, SAMARA_COORD) if row[2].startswith("Другие")]
    assert [row[4] for row in others][:3] == ["3.8", "4.0", "4.5"]
    await c.send("/evaluations 01.11.2026 30.11.2026")
    table = "\n".join(c.texts[-2:])
    line = next(line for line in table.splitlines() if "22.11" in line)
    assert "2,9" in line and "3,0" in line and "3,3" in line
    assert "Москва" not in table
    pooled = next(line for line in table.splitlines() if line.startswith("Другие регионы"))
    # six answer sets from Moscow: big enough for averages
    assert pooled.removesuffix("</pre>").split()[2:] == ["86", "3,8", "4,0", "4,5"]
    seen = everything_seen(harness, c)
    assert "Самарец 3301" in seen and "Самарская НКО" in seen and "Самарский отзыв" in seen
    for secret in MOSCOW_SECRETS:
        assert secret not in seen, secret


async def test_the_creator_federal_coordinators_and_admins_see_every_answer(
    harness: Harness,
) -> None:
    event_id = await two_region_event(harness)
    for user_id in (CREATOR, FEDERAL, ADMIN_ID):
        p = harness.person(user_id)
        await p.send(f"/evaluation {event_id}")
        summary = summary_of(p)
        assert "Другие регионы" not in summary and "🔒" not in summary
        # relevance over all nine: (23 + 3) / 9
        assert "Средняя оценка <b>2,9</b> из 5 (ответов: 9)" in summary
        assert "Больше практики" in p.texts[-1] and "Самарский отзыв второй" in p.texts[-1]
        await p.tap("Голосовые ответы (2)")
        voices = {call.params["voice"] for call in harness.telegram.sent("sendVoice", chat_id=p.id)}
        assert voices == {"voice-a", "voice-sam"}
        await p.tap("Таблица XLSX")
        _summary, sheet = xlsx_rows(harness, user_id)
        names = [row[0] for row in sheet[1:]]
        assert len(names) == 9 and "Самарец 3301" in names and "Участник 3201" in names


async def test_anonymous_answers_without_a_region_stay_in_the_pool(harness: Harness) -> None:
    """Five from Moscow keep their region in an anonymous evaluation, two from Samara do not:
    Moscow's coordinator reads Moscow's words only; the two unplaced answers stay figures."""
    await register(harness, MOSCOW_COORD)
    await make_coordinator(harness, MOSCOW_COORD, "RU-MOW")
    event_id = await make_event(
        harness,
        regions=("RU-MOW", "RU-SAM"),
        evaluation={"template": "short", "anonymous": True},
    )
    await crowd_going(harness, event_id, CROWD[:5])
    for user_id in SAMARA[:2]:
        await join_samara(harness, user_id, event_id)
    await at(harness, ENDS + timedelta(minutes=1))
    for n, user_id in enumerate(CROWD[:5]):
        await answer_with(harness, user_id, event_id, ["5", "4", f"text:Москва {n}"])
    for user_id in SAMARA[:2]:
        await answer_with(harness, user_id, event_id, ["1", "1", "text:Самарский отзыв"])
    c = harness.person(MOSCOW_COORD)
    await c.send(f"/evaluation {event_id}")
    summary = summary_of(c)
    assert "Средняя оценка <b>5,0</b> из 5 (ответов: 5)" in summary
    assert "Из других регионов — 2 анкеты" in summary
    assert "Москва 4" in c.texts[-1]
    await c.tap("Таблица XLSX")
    await c.tap("CSV")
    seen = everything_seen(harness, c)
    assert "Москва 4" in seen and "Самарский отзыв" not in seen


async def test_unplaced_anonymous_answers_stay_pooled_when_people_move(
    harness: Harness, settings: Settings
) -> None:
    """Samara's four anonymous answers keep no region (fewer than five were asked there). When
    a Moscow participant later moves to Samara, no region is small any more: the four must
    still not appear one by one to Moscow's coordinator (whose they are cannot be known later:
    people move, erase themselves, the invitations are purged)."""
    await register(harness, MOSCOW_COORD)
    await make_coordinator(harness, MOSCOW_COORD, "RU-MOW")
    event_id = await make_event(
        harness,
        regions=("RU-MOW", "RU-SAM"),
        evaluation={"template": "short", "anonymous": True},
    )
    await crowd_going(harness, event_id, CROWD[:6])
    samara = (*SAMARA[:3], 3309)
    for user_id in samara:
        await join_samara(harness, user_id, event_id)
    await at(harness, ENDS + timedelta(minutes=1))
    for n, user_id in enumerate(CROWD[:6]):
        await answer_with(harness, user_id, event_id, ["5", "4", f"text:Москва {n}"])
    for user_id in samara:
        await answer_with(harness, user_id, event_id, ["1", "1", "text:Самарский секрет"])
    caller = await identify(harness.storage, settings, MOSCOW_COORD)

    def texts(report: Any) -> list[str]:
        return [a.text for r in report.responses for a in r.answers.values() if a.text]

    before = await event_report(harness.storage, caller, event_id, "ru")
    assert len(before.pooled) == 4 and not any("Самар" in x for x in texts(before))
    await harness.storage.db.execute(
        "UPDATE members SET region_code = 'RU-SAM' WHERE telegram_id = ?", (CROWD[0],)
    )
    after = await event_report(harness.storage, caller, event_id, "ru")
    assert len(after.pooled) == 4 and not any("Самар" in x for x in texts(after))
    c = harness.person(MOSCOW_COORD)
    await c.send(f"/evaluation {event_id}")
    await c.tap("Таблица XLSX")
    await c.tap("CSV")
    assert "Самарский секрет" not in everything_seen(harness, c)
