"""Events: parsing dates typed by coordinators, publishing, answers, reminders, calendar files.

Times are stored in UTC and shown to each reader in their own region's time zone, with
Moscow time beside it when the zones differ. One module per job:

- `parse`: what coordinators type (dates, times, the program, places, links) and its limits;
- `announce`: who may announce where, publishing, the announcement, its length check;
- `cards`: an event's card and its buttons as each reader sees it;
- `copies`: the delivered copies of an announcement, edited when the event or an answer changes;
- `rsvp`: members' answers, the waiting list and its promotion notice;
- `reminders`: the reminders before the start;
- `manage`: running a published event (who may, editing, cancelling);
- `checkin`: the check-in at the venue;
- `files`: the calendar file, the participants' spreadsheet, the QR code.
"""

from bot.events.announce import coordinated_regions, plain_length, target_choice
from bot.events.manage import is_creator, managed_event
from bot.events.reminders import queue_reminders

__all__ = [
    "coordinated_regions",
    "is_creator",
    "managed_event",
    "plain_length",
    "queue_reminders",
    "target_choice",
]
