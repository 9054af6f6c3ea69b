"""/mydata lists everything stored about the person, in their language: event answers and
check-ins, questionnaires, roles, actions as a coordinator, groups linked; a list too long for
one message comes as a file; the JSON file has the same."""

from __future__ import annotations

import json
from datetime import timedelta

from storage.events import NewEvent
from tests.conftest import Harness
from tests.test_erasure import ERASED, everything


def json_of(h: Harness, chat_id: int) -> dict[str, object]:
    call = h.telegram.sent("sendDocument", chat_id=chat_id)[-1]
    assert call.files["document"][0] == "my-data.json"
    data: dict[str, object] = json.loads(call.files["document"][1])
    return data


async def test_mydata_lists_everything_in_words_and_in_the_file(harness: Harness) -> None:
    await everything(harness)
    me = harness.person(ERASED)
    await me.send("/mydata")
    text = next(t for t in reversed(me.texts) if "Что бот хранит о вас" in t)
    assert "Евдокия Стирательная" in text and "Общество Забвения" in text
    assert "координатор: Самарская область" in text
    assert "«Тренинг: медиация»: Пойду, отмечены на месте" in text
    assert "(после мероприятия): ответы даны" in text
    assert "(после мероприятия): начата, не закончена" in text  # the second event's
    assert "Ваших обращений:</b> 1" in text
    assert "взято обращений — 1" in text and "вопросов заявителям — 1" in text
    assert "рассылок — 1" in text and "Самара НКО — Самарская область" in text
    data = json_of(harness, ERASED)
    assert [r["answer"] for r in data["event_answers"]] == ["going", "going"]  # type: ignore[index]
    assert data["event_answers"][0]["checked_in_at"]  # type: ignore[index]
    assert data["questionnaires"][0]["answered"] is True  # type: ignore[index]
    coordinator = data["as_coordinator"]
    assert isinstance(coordinator, dict)
    assert [q["question"] for q in coordinator["questions_to_reporters"]] == ["Были ли свидетели?"]
    # the reporter's answer belongs to the report, not to the coordinator's data
    assert all("answer" not in q for q in coordinator["questions_to_reporters"])
    assert {a["action"] for a in coordinator["report_actions"]} >= {"acknowledged", "progress"}
    assert len(coordinator["broadcasts"]) == 1
    assert [g["title"] for g in data["groups_linked"]] == ["Самара НКО"]  # type: ignore[union-attr]
    # in English for an English reader
    await harness.storage.db.execute(
        "UPDATE members SET language = 'en' WHERE telegram_id = ?", (ERASED,)
    )
    await me.send("/mydata")
    text = next(t for t in reversed(me.texts) if "What the bot stores about you" in t)
    assert "checked in" in text and "(after the event): answered" in text
    assert "Groups you linked" in text and "Что бот" not in text


async def test_a_long_list_comes_as_a_file(harness: Harness) -> None:
    await everything(harness)
    member = await harness.storage.members.by_telegram_id(ERASED)
    assert member is not None
    for n in range(80):
        event = await harness.storage.events.create(
            NewEvent(
                title=f"Встреча актива номер {n} с длинным названием для проверки",
                description="—",
                program=(),
                starts_at=harness.clock() + timedelta(days=n + 1),
                ends_at=harness.clock() + timedelta(days=n + 1, hours=2),
                tz="Europe/Samara",
                place=None,
                online_url=None,
                capacity=None,
                regions=("RU-SAM",),
                topics=(),
                created_by=None,
                checkin_secret="s",
                evaluation=None,
            ),
            harness.clock(),
        )
        await harness.storage.events.answer(event.id, member.id, "maybe", None, harness.clock())
    me = harness.person(ERASED)
    await me.send("/mydata")
    files = harness.telegram.sent("sendDocument", chat_id=ERASED)
    listing = next(c for c in files if c.files["document"][0] == "my-data.txt")
    content = listing.files["document"][1].decode("utf-8")
    assert len(content) > 4096 and "номер 79" in content and "<b>" not in content
    assert "длиннее одного сообщения" in str(listing.params.get("caption"))
    assert len(json_of(harness, ERASED)["event_answers"]) == 82  # type: ignore[arg-type]
