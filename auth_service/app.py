"""The auth service app: users, logins, tokens, the login and admin pages, JWKS."""

from __future__ import annotations

from fastapi import FastAPI

from auth_service import pages, routes
from filebay.config import Service, Settings
from filebay.http.app import build_app
from filebay.runtime import Runtime
from filebay.wiring import open_local

ROUTERS = [routes.router, pages.router]


async def open_auth(settings: Settings) -> Runtime:
    return await open_local(settings, signs=True)


def create_app(settings: Settings) -> FastAPI:
    return build_app(settings, service=Service.auth, routers=ROUTERS, open_services=open_auth)
