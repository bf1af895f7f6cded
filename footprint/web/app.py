"""The Starlette application: four read-only routes over a Dashboard, rendered with the report's
Jinja2 environment (autoescaped). Every response forbids loading anything from elsewhere (CSP)."""

from __future__ import annotations

from footprint.errors import FootprintError, NotFoundError, ValidationError
from footprint.web.dashboard import Dashboard

# Inline CSS and inline SVG only: no script, no font, no image from anywhere, no framing.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def create_app(dashboard: Dashboard):
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    from footprint.reports.templating import render_template

    lang = dashboard.lang

    def page(name: str, status: int = 200, **context):
        html = render_template(f"web/{name}.html", lang=lang, **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def failure(exc: FootprintError):
        status = 404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, ValidationError) else 503
        return page("error", status=status, message=" ".join(str(exc).split()))

    def _quarter(request) -> str | None:
        return request.query_params.get("quarter") or None

    def register(request):
        try:
            return page("register", **dashboard.register_page(_quarter(request)))
        except FootprintError as exc:
            return failure(exc)

    def use_case(request):
        try:
            return page("use_case", **dashboard.use_case_page(request.path_params["slug"]))
        except FootprintError as exc:
            return failure(exc)

    def pareto(request):
        try:
            return page("pareto", **dashboard.pareto_page(_quarter(request), request.query_params.get("team") or None))
        except FootprintError as exc:
            return failure(exc)

    def api_report(request):
        try:
            text = dashboard.report_json(_quarter(request))
        except FootprintError as exc:
            import json

            status = 404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, ValidationError) else 503
            return Response(json.dumps({"error": " ".join(str(exc).split())}) + "\n", status_code=status,
                            media_type="application/json", headers=SECURITY_HEADERS)
        return Response(text.encode("utf-8"), media_type="application/json", headers=SECURITY_HEADERS)

    routes = [
        Route("/", register, methods=["GET"]),
        Route("/use-case/{slug}", use_case, methods=["GET"]),
        Route("/pareto", pareto, methods=["GET"]),
        Route("/api/report", api_report, methods=["GET"]),
    ]
    return Starlette(routes=routes)
