"""Sign-in sessions: an access token (a JWT) and a rotating refresh token per session, revocable everywhere."""
