"""Telegram update handlers: narrow the update, check who asks, call one service, reply."""
