"""What a running service holds: built once in the lifespan, injected with ``Depends``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from filebay.auth.principal import SINGLE_USER, Principal
from filebay.catalog.base import Catalog
from filebay.config import Settings
from filebay.storage.base import BlobStore


@dataclass(slots=True)
class Services:
    settings: Settings
    catalog: Catalog
    store: BlobStore | None


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    return get_services(request).settings


def get_catalog(request: Request) -> Catalog:
    return get_services(request).catalog


def get_store(request: Request) -> BlobStore:
    store = get_services(request).store
    if store is None:  # a service built without blob access: a wiring bug, not user input
        raise RuntimeError("this service has no blob store")
    return store


def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


def current_principal() -> Principal:
    """The caller. Until logins exist, every request acts as ``admin``."""
    return SINGLE_USER


SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
