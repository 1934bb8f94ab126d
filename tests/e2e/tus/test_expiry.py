"""Expiration: an unfinished upload past its Upload-Expires answers 410 and is dropped; the
sweeper removes abandoned ones (row and staged bytes) by itself."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from tests.e2e.tus.support import AUTH_ENV, Site, extra_process, start_site, upload_id
from tests.harness.http import client
from tests.harness.servers import ServerProcess, running


@dataclass
class Expiring:
    """Where to create uploads that expire soon: ``base`` (an upload service) of ``site``."""

    site: Site
    base: str


@contextlib.contextmanager
def _expiring(
    site: Site, tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]
) -> Iterator[Expiring]:
    if site.shape == "all":
        # One process: a deployment of its own with these settings.
        data_dir = tmp_path_factory.mktemp("tus-expiring")
        with running("all", data_dir, {**AUTH_ENV, **env}) as deployment:
            own = start_site(deployment, users=("alice",))
            with contextlib.closing(own.http):
                yield Expiring(own, deployment.upload)
        return
    # Split: an upload process with a short expiry beside the others; the sweeper runs in
    # the metadata service, so a second one with the short sweep period when asked for.
    extra: list[ServerProcess] = []
    try:
        upload_env = {k: v for k, v in env.items() if k == "FILEBAY_TUS_EXPIRY_SECONDS"}
        extra.append(extra_process(site, upload_env))
        if "FILEBAY_SWEEP_SECONDS" in env:
            sweep = {"FILEBAY_SWEEP_SECONDS": env["FILEBAY_SWEEP_SECONDS"]}
            extra.append(extra_process(site, sweep, "metadata"))
        yield Expiring(site, extra[0].url)
    finally:
        for proc in extra:
            proc.stop()
        for proc in extra:
            assert "Traceback" not in proc.log()


def test_410_after_expiry(site: Site, tmp_path_factory: pytest.TempPathFactory) -> None:
    with _expiring(site, tmp_path_factory, {"FILEBAY_TUS_EXPIRY_SECONDS": "2"}) as exp:
        s = exp.site
        head_url = s.create(10, base=exp.base)
        patch_url = s.create(10, base=exp.base)
        r = s.patch(patch_url, 0, b"01234")
        assert r.status_code == 204
        expires = parsedate_to_datetime(r.headers["Upload-Expires"])
        assert 0 < (expires - datetime.now(UTC)).total_seconds() <= 3
        time.sleep(3.2)
        with client() as c:
            r = c.head(head_url, headers=s.tus())
            assert r.status_code == 410
            assert r.headers["Tus-Resumable"] == "1.0.0"
        r = s.patch(patch_url, 5, b"56789")
        assert r.status_code == 410
        for url in (head_url, patch_url):
            # Gone for good: the session and its staged bytes.
            assert s.head(url).status_code == 404
            assert not s.staged(upload_id(url)).exists()


def test_the_sweeper_removes_abandoned_uploads(
    site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = {"FILEBAY_TUS_EXPIRY_SECONDS": "1", "FILEBAY_SWEEP_SECONDS": "1"}
    with _expiring(site, tmp_path_factory, env) as exp:
        s = exp.site
        abandoned = s.create(10, base=exp.base)
        assert s.patch(abandoned, 0, b"01234").status_code == 204
        staged: Path = s.staged(upload_id(abandoned))
        assert staged.exists()
        if s is site:
            # An upload with the normal expiry beside it is left alone.
            kept = site.create(10)
            assert site.patch(kept, 0, b"abc").status_code == 204
        # Nobody asks about it again: the sweeper alone removes it.
        deadline = time.monotonic() + 15
        while staged.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not staged.exists(), "the staged bytes are still there"
        assert s.head(abandoned).status_code == 404  # 410 if the row were still there
        if s is site:
            assert site.offset(kept) == 3
            assert site.staged(upload_id(kept)).exists()
