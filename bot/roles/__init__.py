"""Who may do what: the caller's roles, coordinator invites, access that follows a role."""
