"""TerAgent plugin: the built-in tools (files, search, shell, think).

Only the hookimpl lives here; each tool module is imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterTool


@hookimpl
def teragent_register_tools(register: RegisterTool) -> None:
    register("teragent_tools.files:ReadFileTool", name="read_file")
    register("teragent_tools.files:WriteFileTool", name="write_file")
    register("teragent_tools.files:EditFileTool", name="edit_file")
    register("teragent_tools.files:ListDirectoryTool", name="list_directory")
    register("teragent_tools.search:GlobTool", name="glob")
    register("teragent_tools.search:GrepTool", name="grep")
    register("teragent_tools.shell:BashTool", name="bash")
    register("teragent_tools.think:ThinkTool", name="think")


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("file_safety", "teragent_tools.file_safety_config:FileSafetyConfig",
             description="Limits of write_file and edit_file")
