"""API families: what providers whose APIs follow one original share (``plivo``: Vobiz <- Plivo).
A family module never names a member: each member's specifics are its class attributes and hooks."""
