"""Events in the chat: /new_event (create, its questions in ask), the answers under an
announcement (answers), /events (lists), /event and editing a published event (manage), and
the deep links of an event and of its check-in (links)."""
