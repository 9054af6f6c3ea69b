"""Which commands each role sees in Telegram's menu (set with set_my_commands scopes)."""

from __future__ import annotations

GUEST = ("start", "help")
MEMBER = ("report", "status", "events", "me", "settings", "help", "mydata", "forget", "cancel")
COORDINATOR = (
    "incidents",
    "incident",
    "export_incidents",
    "new_event",
    "event",
    "evaluation",
    "evaluations",
    "broadcast",
    "signup_link",
    "guide",
    *MEMBER,
    "members",
)
ADMIN_ONLY = ("invite_coordinator", "coordinators", "revoke", "members", "stats")
# an admin who has not registered can manage roles but not announce events (no region, no name)
ADMIN = (
    "incidents",
    "incident",
    "export_incidents",
    "new_event",
    "event",
    "evaluation",
    "evaluations",
    "broadcast",
    "signup_link",
    "guide",
    *MEMBER,
    *ADMIN_ONLY,
)
# an admin from ADMIN_IDS who has not registered
ADMIN_GUEST = (*GUEST, "incidents", "incident", "export_incidents", "guide", *ADMIN_ONLY)

BY_LEVEL: dict[str, tuple[str, ...]] = {
    "guest": GUEST,
    "member": MEMBER,
    "coordinator": COORDINATOR,
    "federal": COORDINATOR,
    "admin": ADMIN,
    "admin_guest": ADMIN_GUEST,
    "group_admin": ("link_region", "unlink_region"),
}


def commands_for(level: str) -> tuple[str, ...]:
    """Command names (catalog key `cmd.<name>` describes each) for a role level."""
    return BY_LEVEL[level]
