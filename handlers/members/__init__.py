"""A member's own dialogues and commands: /start, /settings, drafts, /me, /mydata, /forget,
and the vetting buttons."""
