"""Refuse plugin names that cannot be an entry-point name and a module suffix."""

import re
import sys

NAME = "{{ cookiecutter.plugin_name }}"
KIND = "{{ cookiecutter.kind }}"

if not re.fullmatch(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*", NAME):
    sys.exit(
        f"ERROR: plugin_name {NAME!r} is not valid: use lower-case letters, digits and "
        f"single '-' or '_' separators, starting with a letter (e.g. 'hello' or 'my-tools')."
    )
if KIND not in ("tool", "adapter", "compiler"):
    sys.exit(f"ERROR: kind {KIND!r} is not valid: choose tool, adapter or compiler.")
