"""The interactive API docs, /docs (Swagger UI) and /redoc (ReDoc), served entirely by this service.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on a machine without internet /docs is a blank page.
Here the pages load the assets from ``/docs/assets/``, files shipped by the ``fastapi-standalone-docs``
distribution (Swagger UI 5, which renders OpenAPI 3.1 as FastAPI writes it, and ReDoc 2; the package is read as
files, its FastAPI patching is not used). Neither page has an inline script: Swagger UI is started by a small
script of ours served next to the assets, ReDoc starts itself from its ``<redoc>`` element. So the docs' CSP
(web/middleware.py, DOCS_CSP) allows scripts from 'self' only.

Every URL in the pages is relative ("docs/assets/…", "openapi.json"), so the docs also work when a proxy serves
the service under a prefix.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

ASSETS_PACKAGE = "fastapi_standalone_docs"
CACHE = "public, max-age=86400"
# What /docs/assets/ serves: a fixed table (no path from the request reaches the file system).
ASSET_FILES = {
    "swagger-ui.css": ("swagger", "swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": ("swagger", "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "redoc.standalone.js": ("redoc", "redoc.standalone.js", "text/javascript; charset=utf-8"),
    "favicon.png": ("fastapi", "favicon.png", "image/png"),
    "logo-mini.svg": ("redoc", "logo-mini.svg", "image/svg+xml"),
}
# Swagger UI's start, as a file so that the page needs no inline script. Relative to the page (/docs).
SWAGGER_INIT = b"""window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""
SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API docs</title>
<link rel="icon" type="image/png" href="docs/assets/favicon.png">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/swagger-init.js"></script>
</body>
</html>
"""
REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API reference</title>
<link rel="icon" type="image/png" href="docs/assets/favicon.png">
</head>
<body>
<redoc spec-url="openapi.json"></redoc>
<script src="docs/assets/redoc.standalone.js"></script>
</body>
</html>
"""


def assets_dir() -> Path:
    """Where the installed asset package keeps its files (found without importing it: it patches FastAPI)."""
    spec = importlib.util.find_spec(ASSETS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the API docs need the {ASSETS_PACKAGE} package (the [server] extra)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def build_router(title: str) -> APIRouter:
    """/docs, /redoc and their assets. Checks at start-up that the assets are installed."""
    root = assets_dir()
    files = {name: (root / folder / file, media) for name, (folder, file, media) in ASSET_FILES.items()}
    missing = [str(path) for path, _ in files.values() if not path.is_file()]
    if missing:
        raise RuntimeError(f"API docs assets missing: {', '.join(missing)}")
    swagger_page = SWAGGER_PAGE.format(title=title)
    redoc_page = REDOC_PAGE.format(title=title)
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger_page)

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_page)

    @router.get("/docs/assets/swagger-init.js")
    async def swagger_init() -> Response:
        return Response(SWAGGER_INIT, media_type="text/javascript; charset=utf-8", headers={"cache-control": CACHE})

    @router.get("/redoc/logo-mini.svg")  # ReDoc's footer asks for its logo next to the page, by its own path
    async def redoc_logo() -> FileResponse:
        return await asset("logo-mini.svg")

    @router.get("/docs/assets/{name}")
    async def asset(name: str) -> FileResponse:
        found = files.get(name)
        if found is None:
            raise HTTPException(404)
        path, media = found
        return FileResponse(path, media_type=media, headers={"cache-control": CACHE})

    return router
