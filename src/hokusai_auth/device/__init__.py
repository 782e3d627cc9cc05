"""Device sign-in (RFC 8628): a command line asks for a code, a signed-in user approves it in a browser, and the
command line's polling receives a session of its own."""
