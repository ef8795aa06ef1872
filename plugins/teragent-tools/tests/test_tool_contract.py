"""The tool contract suite (teragent-testing) on this plugin's tools, as registered."""

from __future__ import annotations

from teragent_testing.tool_contract import ToolContract


class TestBuiltinTools(ToolContract):
    registered = ("read_file", "write_file", "edit_file", "list_directory", "glob", "grep",
                  "bash", "think")
    bad_calls = {"read_file": {"path": "no/such/file.txt"},
                 "edit_file": {"path": "missing.txt", "old_string": "a", "new_string": "b"},
                 "list_directory": {"path": "not-a-directory"}}
