# syntax=docker/dockerfile:1
# One image for every filebay service; the command chooses which:
#   docker build -t filebay .
#   docker run -p 8000:8000 -e FILEBAY_ADMIN_PASSWORD=... -v filebay-data:/data filebay
#   docker run ... filebay --service upload      (auth, upload, metadata, download, all)
# Secrets (FILEBAY_ADMIN_PASSWORD, FILEBAY_SERVICE_TOKEN, database and S3 credentials) come
# from the environment at run time; none is baked into the image.

# --- builder: a virtualenv with the pinned runtime dependencies and filebay itself ---------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Runtime dependencies only (requirements-runtime.lock: no test or dev tools), in their own
# layer so that code changes do not reinstall them.
COPY requirements-runtime.lock ./
RUN pip install --require-virtualenv -r requirements-runtime.lock

COPY pyproject.toml README.md ./
COPY filebay ./filebay
COPY filebay_server ./filebay_server
COPY auth_service ./auth_service
COPY upload_service ./upload_service
COPY metadata_service ./metadata_service
COPY download_service ./download_service
RUN pip install --require-virtualenv --no-deps . \
    && python -m compileall -q /opt/venv

# --- runtime: slim Python, the virtualenv, the pages; a user without privileges ------------
FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="filebay" \
      org.opencontainers.image.description="Self-hosted, multi-user file portal" \
      org.opencontainers.image.licenses="MIT"

# Listen beyond loopback (logins stay on: FILEBAY_AUTH defaults to on). Blobs, the SQLite
# file and the auth service's keys go to /data unless PostgreSQL and S3 are configured.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FILEBAY_HOST=0.0.0.0 \
    FILEBAY_DATA_DIR=/data \
    FILEBAY_TEMPLATES_DIR=/app/templates \
    FILEBAY_STATIC_DIR=/app/static

RUN groupadd --system --gid 10001 filebay \
    && useradd --system --uid 10001 --gid filebay --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin filebay \
    && mkdir -p /data \
    && chown filebay:filebay /data

COPY --from=builder /opt/venv /opt/venv
COPY templates /app/templates
COPY static /app/static

USER 10001:10001
WORKDIR /data
EXPOSE 8000 8001 8002 8003 8004

# Liveness of whichever service runs: FILEBAY_PORT says where (Compose sets it per service;
# the default, 8000, is the all-in-one). No curl in slim images: Python asks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('FILEBAY_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["filebay", "serve"]
CMD ["--service", "all"]
