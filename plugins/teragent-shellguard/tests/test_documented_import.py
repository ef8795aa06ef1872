"""``from teragent.security import check_command_safety`` works as 001 documents it."""

from __future__ import annotations


def test_documented_call() -> None:
    from teragent.security import check_command_safety

    is_safe, reason = check_command_safety("rm -rf /")
    assert is_safe is False and "root" in reason
    is_safe, _ = check_command_safety("pytest -q tests/")
    assert is_safe is True
