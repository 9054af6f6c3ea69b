"""NGO network bot: the rules of the network (no Telegram objects below `handlers/`)."""
