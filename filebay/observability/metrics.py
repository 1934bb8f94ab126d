"""Prometheus metrics (one registry per process; ``/metrics`` on every service)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "filebay_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["service", "method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "filebay_http_request_duration_seconds",
    "Time to answer, from the request line to the last byte sent.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
BYTES_UPLOADED = Counter(
    "filebay_uploaded_bytes_total", "Bytes received in upload bodies.", registry=REGISTRY
)
BYTES_DOWNLOADED = Counter(
    "filebay_downloaded_bytes_total", "Bytes of file content sent.", registry=REGISTRY
)
UPLOADS_IN_PROGRESS = Gauge(
    "filebay_uploads_in_progress", "Upload requests being received now.", registry=REGISTRY
)
TUS_SESSIONS_OPEN = Gauge(
    "filebay_tus_sessions_open",
    "Unfinished resumable uploads, as of the last sweep.",
    registry=REGISTRY,
)
BLOB_ERRORS = Counter(
    "filebay_blob_store_errors_total",
    "Blob store failures answered as 503/507.",
    ["kind"],
    registry=REGISTRY,
)
CATALOG_ERRORS = Counter(
    "filebay_catalog_errors_total", "Catalog failures answered as 503.", registry=REGISTRY
)
CATALOG_RETRIES = Counter(
    "filebay_catalog_client_retries_total",
    "Metadata-service calls retried by the catalog client (split shape).",
    registry=REGISTRY,
)
SWEPT = Counter(
    "filebay_swept_total",
    "Leftovers removed by the background sweeper.",
    ["kind"],
    registry=REGISTRY,
)
