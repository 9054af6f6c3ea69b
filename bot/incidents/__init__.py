"""Incident reports, the rules: what a member reports (report), what coordinators and the
reporter then do with it (actions, reporters), who is told and when (people, escalation), what
they see (cards, view, digest), the fast path when someone is in danger (fast, urgent), the
export, and the typed call for help (helpcall). Texts of reports are never logged.
"""
