"""Evaluations after events: which questions, who is asked and when, answering, reminders.

When an event ends, everyone who checked in (or, if nobody did, everyone who said "Пойду") is
asked in their private chat, one question per message, through the outbox: at the end time in
their own zone, or in the morning when that falls in QUIET_HOURS. One reminder after
EVALUATION_REMIND_HOURS to those who have not finished; the round closes after
EVALUATION_CLOSE_DAYS. An optional follow-up round asks EVALUATION_FOLLOWUP_DAYS after the end
whether the knowledge could be applied. One pause, one nudge: in the main round the reminder
(an answering dialogue left idle closes without a note); the follow-up, which has no reminder,
gets one idle note, not at night.

The answers so far live in the participant's row (the draft) so that a half-answered
questionnaire resumes where it stopped, whenever the person comes back. The finished set is
stored in one transaction; for an anonymous evaluation without any link to the member.

- questions.py: the questions and how each is shown; ask.py: the clock (rounds, reminders);
- answers.py: answering; reports.py: one event's figures; charts.py: its chart;
- periods.py: events compared over a period; exports.py: XLSX and CSV; views.py: labels.
"""

from bot.evaluations.ask import run_evaluations
from bot.evaluations.questions import (
    CUSTOM_MAX,
    CUSTOM_OPTIONS_MAX,
    CUSTOM_TEXT_MAX,
    KINDS,
    TEMPLATES,
    valid_custom,
)

__all__ = [
    "CUSTOM_MAX",
    "CUSTOM_OPTIONS_MAX",
    "CUSTOM_TEXT_MAX",
    "KINDS",
    "TEMPLATES",
    "run_evaluations",
    "valid_custom",
]
