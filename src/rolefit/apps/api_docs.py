"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), working with no network.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (ReDoc also Google fonts, both a favicon from
fastapi.tiangolo.com), so offline or behind a strict firewall they stay blank. These pages load the
copies shipped in the ``fastapi-offline`` package instead, served by the app itself at
:data:`ASSETS`: every URL they reference is on the server's own origin. The app must be built with
``docs_url=None, redoc_url=None``, which turns FastAPI's CDN pages off.

The scripts themselves may still ask for more: ReDoc 2.5's side menu shows its maker's logo from
cdn.redoc.ly. So every page is sent with a Content-Security-Policy (:data:`POLICY`) that lets the
browser load from the page's own origin only; anything else is refused before it is requested (ReDoc
hides the logo when it does not load).
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the Swagger UI and ReDoc scripts, Swagger UI's stylesheet and the favicon are served.
ASSETS = "/docs-assets"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon.png"
#: What the pages may load: from their own origin only, plus inline styles and ``data:`` images (both
#: UIs write them) and ReDoc's search worker, which it starts from a ``blob:`` URL. Scripts
#: (``{scripts}``): the origin's, and the page's own inline ones by hash, so an injected one would not run.
#: No other site may frame the pages. (The app's other responses get rolefit.apps.guard's policy.)
POLICY = (
    "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)
#: Swagger UI's settings beyond FastAPI's: no online validator (it would send the spec's URL to
#: validator.swagger.io were a layout with its badge ever chosen).
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def assets_folder() -> Traversable:
    """The folder of fastapi-offline's copies of the assets (looked up when called, not at import)."""
    return resources.files("fastapi_offline").joinpath("static")


def same_origin_only(page: HTMLResponse) -> HTMLResponse:
    """The page with the Content-Security-Policy :data:`POLICY`, its inline scripts allowed by hash:
    the browser itself then keeps the page from reaching any other host."""
    scripts = _INLINE_SCRIPT.findall(bytes(page.body).decode("utf-8"))
    hashes = [base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii") for s in scripts]
    allowed = " ".join(["'self'", *(f"'sha256-{h}'" for h in hashes)])
    page.headers["Content-Security-Policy"] = POLICY.format(scripts=allowed)
    return page


def add_offline_docs(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve Swagger UI at ``docs_url`` and ReDoc at ``redoc_url`` from the packaged assets.

    A missing asset (a broken install) fails here, at start-up, rather than as a blank page later."""
    if app.docs_url or app.redoc_url:
        raise ValueError("build the app with docs_url=None and redoc_url=None: FastAPI's pages use CDNs")
    if not app.openapi_url:
        raise ValueError("the documentation pages need the app's OpenAPI document (openapi_url)")
    folder = assets_folder()
    missing = [
        name for name in (SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON) if not folder.joinpath(name).is_file()
    ]
    if missing:
        raise RuntimeError(f"fastapi-offline's assets are missing from {folder}: {', '.join(missing)}")
    app.mount(ASSETS, StaticFiles(directory=str(folder)), name="docs-assets")
    openapi_url = app.openapi_url
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
    parameters = {**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})}

    def root(request: Request) -> str:
        # behind a proxy that mounts the app under a prefix, every URL carries the prefix
        return request.scope.get("root_path", "").rstrip("/")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        prefix = root(request)
        return same_origin_only(
            get_swagger_ui_html(
                openapi_url=prefix + openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{prefix}{ASSETS}/{SWAGGER_JS}",
                swagger_css_url=f"{prefix}{ASSETS}/{SWAGGER_CSS}",
                swagger_favicon_url=f"{prefix}{ASSETS}/{FAVICON}",
                oauth2_redirect_url=prefix + oauth2_redirect_url if oauth2_redirect_url else None,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters=parameters,
            )
        )

    if oauth2_redirect_url:

        @app.get(oauth2_redirect_url, include_in_schema=False)
        async def swagger_ui_redirect() -> HTMLResponse:
            return same_origin_only(get_swagger_ui_oauth2_redirect_html())

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        prefix = root(request)
        return same_origin_only(
            get_redoc_html(
                openapi_url=prefix + openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{prefix}{ASSETS}/{REDOC_JS}",
                redoc_favicon_url=f"{prefix}{ASSETS}/{FAVICON}",
                with_google_fonts=False,
            )
        )
