"""The plugin's tools. This sample shows the shape; replace it with real ones."""

from __future__ import annotations

from teragent.tools import tool

__all__ = ["{{ cookiecutter.__ident }}_greet"]


@tool(name="{{ cookiecutter.__ident }}_greet", keywords=("greet", "hello"))
def {{ cookiecutter.__ident }}_greet(name: str, excited: bool = False) -> str:
    """Greet someone by name.

    Args:
        name: Who to greet.
        excited: End the greeting with an exclamation mark.
    """
    return f"Hello, {name}{'!' if excited else '.'}"
