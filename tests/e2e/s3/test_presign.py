"""FILEBAY_S3_PRESIGN_DOWNLOADS: a download is a 302 to a presigned URL of the bucket whose
answer carries our Content-Disposition and Content-Type; the bucket is a real S3 server's
(SeaweedFS), which checks the signature."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from filebay.transfer.disposition import content_disposition
from tests.e2e.s3.moto import new_bucket, s3_env
from tests.e2e.s3.support import client, sha256
from tests.harness.seaweed import SeaweedServer
from tests.harness.servers import running


def test_downloads_redirect_to_a_presigned_url_with_our_headers(
    tmp_path: Path, seaweed: SeaweedServer
) -> None:
    public = f"http://localhost:{seaweed.port}"  # what browsers use; the server uses 127.0.0.1
    env = {
        **s3_env(seaweed.url, new_bucket()),
        "FILEBAY_S3_PRESIGN_DOWNLOADS": "true",
        "FILEBAY_S3_PUBLIC_ENDPOINT": public,
        "FILEBAY_S3_PRESIGN_SECONDS": "120",
    }
    data = os.urandom(100_000)
    with running("all", tmp_path / "data", env) as dep, client() as http:
        name = "Résumé <draft>.html"
        record = http.put(
            f"{dep.upload}/api/upload/{name}", content=data, headers={"Content-Type": "text/html"}
        ).json()
        content = f"{dep.download}/api/files/{record['id']}/content"

        answer = http.get(content)
        assert answer.status_code == 302
        location = answer.headers["location"]
        assert location.startswith(f"{public}/")
        assert answer.headers["cache-control"] == "private, no-store"
        query = parse_qs(urlsplit(location).query)
        # HTML stays an attachment, whatever ?inline says.
        assert query["response-content-disposition"] == [content_disposition(record["name"])]
        assert query["response-content-type"] == [record["content_type"]]
        assert 0 < int(query["X-Amz-Expires"][0]) <= 120

        with httpx.Client(timeout=30) as browser:  # no credentials: the URL is the credential
            direct = browser.get(location)
            assert direct.status_code == 200
            assert sha256(direct.content) == record["sha256"]
            assert direct.headers["content-disposition"] == content_disposition(record["name"])
            assert direct.headers["content-type"].startswith("text/html")
            ranged = browser.get(location, headers={"Range": "bytes=0-9"})
            assert (ranged.status_code, ranged.content) == (206, data[:10])
            inline = http.get(content, params={"inline": "1"})
            assert (
                "attachment"
                in parse_qs(urlsplit(inline.headers["location"]).query)[
                    "response-content-disposition"
                ][0]
            )
            followed = http.get(content, follow_redirects=True)
            assert followed.content == data

        # HEAD and a matching If-None-Match are answered here, without a redirect.
        head = http.head(content)
        assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))
        etag = f'"{record["sha256"]}"'
        assert http.get(content, headers={"If-None-Match": etag}).status_code == 304
        # Safe types may be inline.
        image = http.put(
            f"{dep.upload}/api/upload/p.png",
            content=b"\x89PNG",
            headers={"Content-Type": "image/png"},
        ).json()
        shown = http.get(f"{dep.download}/api/files/{image['id']}/content", params={"inline": "1"})
        disposition = parse_qs(urlsplit(shown.headers["location"]).query)
        assert disposition["response-content-disposition"][0].startswith("inline;")
        # Another user's or an unknown file is still a 404, never a URL.
        assert http.get(f"{dep.download}/api/files/{'0' * 32}/content").status_code == 404
