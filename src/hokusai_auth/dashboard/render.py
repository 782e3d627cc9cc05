"""Pages from templates: Jinja2 with autoescaping on, every page the same frame (navigation, who is signed in,
the CSRF token), and the answer's headers (no caching of pages that may hold a key or a person's data)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hokusai_auth.dashboard import cookies
from hokusai_auth.dashboard.identity import Cookies, Viewer
from hokusai_auth.web.client_ip import IPNetwork

_ENVIRONMENT = Environment(
    loader=PackageLoader("hokusai_auth.dashboard", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a name a template expects and the page forgot is a bug, not an empty string
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters["svg"] = Markup  # charts.py escapes what it puts in its SVG; nothing else is marked safe
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def apply(response: Response, request: Request, proxies: tuple[IPNetwork, ...], changes: Cookies) -> Response:
    for name, value, max_age in changes.set:
        cookies.put(response, request, proxies, name, value, max_age)
    cleared = [name for name in changes.cleared if name not in {set_name for set_name, _, _ in changes.set}]
    cookies.clear(response, request, proxies, *cleared)
    return response


def page(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    csrf: str,
    changes: Cookies,
    proxies: tuple[IPNetwork, ...],
    status: int = 200,
    **context: Any,
) -> Response:
    html = _ENVIRONMENT.get_template(template).render(
        viewer=viewer, csrf=csrf, path=request.url.path, notice=context.pop("notice", None),
        error=context.pop("error", None), **context,
    )  # fmt: skip
    return apply(HTMLResponse(html, status_code=status, headers=NO_STORE), request, proxies, changes)


def redirect(
    request: Request, to: str, *, changes: Cookies, proxies: tuple[IPNetwork, ...], status: int = 303
) -> Response:
    return apply(RedirectResponse(to, status_code=status, headers=NO_STORE), request, proxies, changes)
