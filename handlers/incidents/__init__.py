"""Incident reports, the handlers: the /report dialogue (report, fast), the coordinators'
card buttons and /incident (card), /incidents and /export_incidents (lists), /status for
reporters (status). The rules and permissions live in bot/incidents/."""

from handlers.incidents.card import COORD
from handlers.incidents.report import REPORT
from handlers.incidents.status import REPORTER

__all__ = ["COORD", "REPORT", "REPORTER"]
