"""The web dashboard (/dashboard): server-rendered pages on the service's own use cases, no CDN, no build step."""
