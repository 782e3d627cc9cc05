"""The dashboard's cookies: every one ``HttpOnly`` and ``SameSite=Lax``, ``Secure`` when the browser came over
TLS (directly or through a trusted proxy), scoped to the whole origin (the public pages /claim and
/invitations/accept need the signed-in user too).

- ``hk_access`` and ``hk_refresh``: a wallet user's access and refresh token, the same session as the JWTs of the
  API (ending the session anywhere ends the dashboard's too); the refresh token renews the access token.
- ``hk_operator``: an operator signed in with the admin token, as a signed, expiring statement of which token
  (its fingerprint, never the token): rotating that token out ends the dashboard session.
- ``hk_csrf``: a random value that binds the CSRF token of forms shown before anyone signed in.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hokusai_auth.web.client_ip import IPNetwork, forwarded_proto

ACCESS = "hk_access"
REFRESH = "hk_refresh"
OPERATOR = "hk_operator"
ANONYMOUS_CSRF = "hk_csrf"
ALL = (ACCESS, REFRESH, OPERATOR)


def over_tls(request: Request, proxies: tuple[IPNetwork, ...]) -> bool:
    return forwarded_proto(request.scope, proxies) == "https"


def put(response: Response, request: Request, proxies: tuple[IPNetwork, ...], name: str, value: str,
        max_age: int) -> None:  # fmt: skip
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=over_tls(request, proxies))  # fmt: skip


def clear(response: Response, request: Request, proxies: tuple[IPNetwork, ...], *names: str) -> None:
    for name in names:
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=over_tls(request, proxies))
