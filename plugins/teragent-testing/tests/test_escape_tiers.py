"""The escape suite's tiers: a backend must claim what its tier implies, so an empty
claim fails even before any probe runs."""

from __future__ import annotations

import pytest

from teragent_testing.escape import (
    PROBES, TIER_REQUIRES, TIERS, EscapeReport, ProbeResult, assert_claims,
)


def test_tiers_are_ordered_and_their_requirements_grow() -> None:
    order = ["process", "landlock", "bwrap", "gvisor", "container", "microvm"]
    assert [TIERS[n] for n in order] == sorted(TIERS[n] for n in order)
    assert TIERS["gvisor"] == TIERS["container"]
    tiers = sorted(TIER_REQUIRES)
    for low, high in zip(tiers, tiers[1:]):
        assert TIER_REQUIRES[low] <= TIER_REQUIRES[high]
    assert set().union(*TIER_REQUIRES.values()) <= set(PROBES)


def test_an_empty_claim_fails_its_tier() -> None:
    with pytest.raises(AssertionError, match="not claimed, but tier 2 requires it"):
        assert_claims(EscapeReport("bwrap"))
    everything = EscapeReport("bwrap", claims=frozenset(TIER_REQUIRES[2]))
    assert_claims(everything)  # nothing run, everything required claimed


def test_a_claimed_escape_or_an_unjudged_claim_fails() -> None:
    claims = frozenset(TIER_REQUIRES[0])
    escaped = EscapeReport("process", [ProbeResult("env_unlisted", True, False, "GH_PAT")],
                           claims=claims)
    with pytest.raises(AssertionError, match="env_unlisted: GH_PAT"):
        assert_claims(escaped)
    unjudged = EscapeReport("process", [ProbeResult("capabilities", True, None, "?")],
                            claims=claims)
    with pytest.raises(AssertionError, match="capabilities"):
        assert_claims(unjudged)
    unclaimed = EscapeReport("process", [ProbeResult("dev_pts", False, False, "pts")],
                             claims=claims)
    assert_claims(unclaimed)  # reported, not asserted
