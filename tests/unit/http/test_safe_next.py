"""auth_service.pages.safe_next: after login, back to a page of ours, never elsewhere."""

from __future__ import annotations

import pytest

from auth_service.pages import safe_next
from filebay.config import Service, Settings

UI, AUTH, META, DOWNLOAD = (f"http://files.example:800{n}" for n in (1, 4, 2, 3))


@pytest.fixture
def split() -> Settings:
    return Settings(
        service=Service.auth,
        ui_url=UI,
        auth_url=AUTH,
        metadata_url=META,
        download_url=DOWNLOAD,
    )


@pytest.mark.parametrize(
    "target",
    [f"{UI}/", f"{UI}/?q=report", f"{DOWNLOAD}/uploads", f"{AUTH}/admin", f"{AUTH}/tokens"],
)
def test_a_page_of_any_of_our_services_is_kept(split: Settings, target: str) -> None:
    assert safe_next(target, split) == target


@pytest.mark.parametrize("target", ["/admin", "/api/files?q=x"])
def test_a_local_path_is_kept(split: Settings, target: str) -> None:
    assert safe_next(target, split) == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        f"{DOWNLOAD}.evil.example/",
        f"{UI}@evil.example/",
        "http://files.example:8009/",
        "javascript:alert(1)",
        "/\t/evil.example/phish",
        "/\r/evil.example/phish",
        "/\n/evil.example/phish",
        "\t//evil.example/",
        "/ /evil.example/",
        "/\u2028/evil.example/",
        "/\u00a0/evil.example/",
        f"{UI}/\t/x",
        f"{UI}\t.evil.example/",
    ],
)
def test_anything_else_goes_to_the_ui(split: Settings, target: str) -> None:
    assert safe_next(target, split) == f"{UI}/"


def test_no_target_goes_to_the_ui(split: Settings) -> None:
    assert safe_next(None, split) == f"{UI}/"
    assert safe_next("", split) == f"{UI}/"


def test_all_in_one_keeps_paths_and_refuses_absolute_urls() -> None:
    settings = Settings()
    assert safe_next("/uploads", settings) == "/uploads"
    assert safe_next("http://127.0.0.1:8000/uploads", settings) == "/"
    assert safe_next(None, settings) == "/"
