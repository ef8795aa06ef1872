"""The tool contract on every tool the installed plugins register (first-party and
contrib alike), built the way an agent builds them: a tool plugin that breaks the
contract fails here even before it opts in itself."""

from __future__ import annotations

from teragent_testing.tool_contract import ToolContract


class TestEveryRegisteredTool(ToolContract):
    all_registered = True
