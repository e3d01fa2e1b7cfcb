"""`/_local/docs`: the customer API as an interactive page (local runs only).

Swagger UI 5 (it reads OpenAPI 3.1) from the ``swagger-ui-bundle-v2`` package, served by
the emulator itself: no CDN, nothing fetched from outside. The page loads the document
the gateway serves (``GET /v1/openapi.json``), so it shows exactly what the API answers:
types, allowed values, bodies, examples, every error. "Authorize" takes a dev session
token (`make token`); "Try it out" then calls the gateway from the same origin.
"""

from __future__ import annotations

import json
from pathlib import Path

DOCS_PATH = "/_local/docs"
# The files of the package the page uses, and their media types: nothing else is served.
_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_INIT = "init.js"


def _bundle_dir() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # a .venv made before requirements-local.txt named it
        return None
    return Path(str(swagger_ui_path))


def page(base_path: str, openapi_path: str) -> tuple[int, dict[str, str], bytes]:
    if _bundle_dir() is None:
        text = (
            "Swagger UI is not installed: run `make dev` again (it installs "
            "requirements-local.txt). The document itself is at " + base_path + openapi_path
        )
        return 503, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>Opower Gateway API (local)</title>"
        f'<link rel=icon href="{DOCS_PATH}/favicon-32x32.png">'
        f'<link rel=stylesheet href="{DOCS_PATH}/swagger-ui.css"></head>'
        '<body><div id="swagger-ui"></div>'
        f'<script src="{DOCS_PATH}/swagger-ui-bundle.js"></script>'
        f'<script src="{DOCS_PATH}/{_INIT}"></script></body></html>'
    )
    return 200, {"Content-Type": "text/html; charset=utf-8"}, html.encode()


def asset(name: str, base_path: str, openapi_path: str) -> tuple[int, dict[str, str], bytes]:
    """One file of the page, by name; any other name is 404."""
    if name == _INIT:
        options = {
            "url": base_path + openapi_path,
            "dom_id": "#swagger-ui",
            "deepLinking": True,
            "tryItOutEnabled": True,
            "displayRequestDuration": True,
            "persistAuthorization": False,  # a pasted token lives as long as the tab
            "defaultModelsExpandDepth": 0,
        }
        script = f"window.ui = SwaggerUIBundle({json.dumps(options)});\n"
        return 200, {"Content-Type": _ASSETS["swagger-ui-bundle.js"]}, script.encode()
    bundle = _bundle_dir()
    if name not in _ASSETS or bundle is None:
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found"
    headers = {"Content-Type": _ASSETS[name], "Cache-Control": "max-age=3600"}
    return 200, headers, (bundle / name).read_bytes()
