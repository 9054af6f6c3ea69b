"""SQLite storage: SQL only, returns frozen dataclasses. Imports neither `telegram` nor `bot`."""
