"""filebay.upkeep.findings: when a report is clean."""

from __future__ import annotations

import pytest

from filebay.upkeep.findings import Finding, Report


@pytest.mark.parametrize(
    ("findings", "clean"),
    [
        ([], True),
        ([Finding("orphan_blob", "k", "", repaired=True)], True),
        ([Finding("stale_temp", "k", "", repaired=False)], False),
        ([Finding("missing_blob", "k", "", repaired=True)], False),
        ([Finding("sha256_mismatch", "k", "")], False),
    ],
)
def test_report_is_clean_only_without_damage_or_leftovers(
    findings: list[Finding], clean: bool
) -> None:
    assert Report(findings=findings).clean is clean
