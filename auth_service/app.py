"""The auth service app: users, logins, tokens, the login and admin pages, JWKS."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from auth_service import audit, mfa, pages, passkeys, routes, sessions, sso
from filebay.config import Service, Settings
from filebay.http.app import build_app
from filebay.runtime import Runtime
from filebay.wiring import open_local

# One API router and one page router (the all-in-one app orders the services' API routers
# before their pages): the modules' routes side by side, not nested (each stays an APIRoute
# that the capability check of ``build_app`` reads).
api = APIRouter()
for module in (routes, sso, mfa, passkeys, sessions, audit):
    api.routes.extend(module.router.routes)
page_routes = APIRouter(include_in_schema=False)
for router in (pages.router, audit.pages):
    page_routes.routes.extend(router.routes)
ROUTERS = [api, page_routes]


async def open_auth(settings: Settings) -> Runtime:
    return await open_local(settings, signs=True)


def create_app(settings: Settings) -> FastAPI:
    return build_app(settings, service=Service.auth, routers=ROUTERS, open_services=open_auth)
