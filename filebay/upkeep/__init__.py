"""Upkeep: one scan of the catalog and the blob store, two uses.

``filebay fsck`` runs the scan once, reporting or repairing (``scanner``); the sweeper runs
it in repair mode on a timer (``sweeper``). Orphan blobs follow one rule for both
(``orphans``: the guard and the quarantine), under the deployment identity that the catalog
and the blob store share (``identity``).
"""
