"""Members: registration and its drafts, vetting, a member's own data, /mydata, erasure."""
