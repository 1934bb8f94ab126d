"""What a scan found: ``Finding`` (one thing damaged or left over, repaired or not) and the
``Report`` of a whole scan."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Finding:
    # missing_blob | orphan_blob | size_mismatch | sha256_mismatch | stale_temp | stale_staged
    # | expired_upload | expired_share | deleted_owner_file | quarantine_expired
    # | quarantine_restored | refused (why nothing of the kind was repaired: a deployment
    # identity mismatch, the orphan guard)
    kind: str
    key: str
    detail: str
    repaired: bool = False
    #: How many things this finding stands for (expired shares go in one statement).
    count: int = 1

    @property
    def is_damage(self) -> bool:
        """Lost or corrupted data, as opposed to leftovers that can simply be removed."""
        return self.kind in ("missing_blob", "size_mismatch", "sha256_mismatch")


@dataclass(slots=True)
class Report:
    records: int = 0
    blobs: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Orphan blobs waiting out their quarantine (restorable; not a problem).
    quarantined: int = 0
    #: Why no orphan blob was moved or deleted (identity mismatch, guard), when so.
    orphans_refused: str | None = None

    @property
    def clean(self) -> bool:
        """Nothing left to worry about: no damage, and every leftover removed."""
        return all(f.repaired and not f.is_damage for f in self.findings)

    def repaired(self) -> dict[str, int]:
        """How many things of each kind were removed, moved aside or moved back."""
        counts: dict[str, int] = {}
        for finding in self.findings:
            if finding.repaired:
                counts[finding.kind] = counts.get(finding.kind, 0) + finding.count
        return counts
