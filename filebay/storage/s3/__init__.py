"""Blobs in any S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage, R2).

Why aiobotocore: it is the asyncio face of botocore, the library AWS maintains, and it
exposes the whole S3 API. Resumable uploads need the low-level multipart calls (one
multipart upload that grows over many requests, parts listed and completed later), which
obstore's higher-level put/get API does not expose.

Layout under the bucket (and ``FILEBAY_S3_PREFIX``): ``blobs/<key>`` for published blobs;
``staging/<key>/state.json`` and ``staging/<key>/tail-<n>`` for tus uploads in progress;
``quarantine/<key>`` for orphan blobs moved aside; ``.filebay/deployment`` for the deployment
identity shared with the catalog.

The store is one class, ``store.S3BlobStore``, built from the modules of this package:
``client`` (the aiobotocore clients and where each kind of object lives), ``errors`` (botocore's
exceptions as filebay's storage errors), ``writer`` (one-shot writes as multipart uploads),
``staging`` (tus uploads in progress), ``quarantine`` (orphan blobs moved aside, and the
deployment identity) and ``store`` (reads, stat, delete, listing, presign, ping).
"""
