"""Without a display or xdotool every action fails and says what is missing (no X
needed: these run everywhere); the safety rules as pure functions; the config table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from teragent.core.types import ToolSafety
from teragent.tools.desktop import DesktopSafetyConfig, DesktopTool
from teragent_desktop.safety import is_blocked, normalise_keys, segment_zone_hit

ALL_ACTIONS = [
    {"action": "screenshot"}, {"action": "click", "x": 1, "y": 1},
    {"action": "type_text", "text": "secret-pass"}, {"action": "scroll", "direction": "up"},
    {"action": "hotkey", "keys": "ctrl,c"}, {"action": "move_mouse", "x": 1, "y": 1},
    {"action": "drag", "x": 1, "y": 1, "end_x": 2, "end_y": 2},
]


def _unused_display() -> str:
    n = next(n for n in range(4242, 4342) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    return f":{n}"


@pytest.mark.parametrize("params", ALL_ACTIONS, ids=lambda p: p["action"])
def test_no_display_means_every_action_fails_naming_the_fix(
        monkeypatch: pytest.MonkeyPatch, params: dict) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    tool = DesktopTool()
    assert tool.simulation_mode is True
    r = asyncio.run(tool.execute(params))
    assert not r.success and r.data is None
    assert "no X display: set DISPLAY" in r.error and "Xvfb" in r.error
    assert r.metadata == {"simulation_mode": True}
    assert "secret-pass" not in r.error


def test_a_display_without_a_server_is_named() -> None:
    display = _unused_display()
    tool = DesktopTool(display=display)
    assert tool.simulation_mode
    r = asyncio.run(tool.execute({"action": "click", "x": 3, "y": 4}))
    assert not r.success and f"no X server on display {display!r}" in r.error


def test_missing_xdotool_is_named_with_the_install_command(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    tool = DesktopTool(display=":0")
    assert tool.simulation_mode
    r = asyncio.run(tool.execute({"action": "type_text", "text": "x"}))
    assert not r.success and "apt-get install xdotool" in r.error


def test_the_tool_declares_destructive_safety_and_its_schema() -> None:
    tool = DesktopTool(display=":0")
    assert tool.name == "desktop" and tool.safety is ToolSafety.DESTRUCTIVE
    assert not tool.concurrency_safe
    props = tool.parameters_schema["properties"]
    assert props["action"]["enum"] == ["screenshot", "click", "type_text", "scroll", "hotkey",
                                       "move_mouse", "drag"]
    assert {"x", "y", "button", "text", "direction", "scroll_amount", "keys", "end_x",
            "end_y"} <= set(props)
    # every argument is data: typed text naming ".env" is not a path to the guards
    assert not tool.effects({"action": "type_text", "text": "cat .env"}).all_paths()


def test_keys_are_normalised_by_name_order_and_case() -> None:
    assert normalise_keys("Del+ALT+Control") == ("ctrl", "alt", "delete")
    assert normalise_keys(["cmd", "L"]) == ("super", "l")
    assert normalise_keys("shift, Super_L, ctrl, t") == ("ctrl", "shift", "super", "t")
    blocked = DesktopSafetyConfig().blocked()
    assert is_blocked(normalise_keys("alt+shift+F4"), blocked) == "alt+f4"
    assert is_blocked(normalise_keys("Meta+l"), blocked) == "super+l"
    assert is_blocked(normalise_keys("ctrl+alt+F7"), blocked) == "ctrl+alt+f7"
    assert is_blocked(normalise_keys("f4"), blocked) is None
    assert is_blocked(normalise_keys("ctrl+c"), blocked) is None


def test_a_drag_path_through_a_zone_hits_it() -> None:
    zone = [(10, 10, 20, 20)]
    assert segment_zone_hit(0, 15, 30, 15, zone) == zone[0]   # straight through
    assert segment_zone_hit(0, 0, 30, 30, zone) == zone[0]    # diagonal
    assert segment_zone_hit(0, 0, 30, 5, zone) is None        # passes above
    assert segment_zone_hit(25, 0, 25, 30, zone) is None      # passes right of it
    assert segment_zone_hit(15, 15, 15, 15, zone) == zone[0]  # a point inside


@pytest.mark.parametrize("kwargs, words", [
    ({"safe_zones": [(10, 10, 5, 20)]}, "safe_zones[0]"),
    ({"safe_zones": [(1, 2, 3)]}, "four integers"),
    ({"min_interval": -1}, "min_interval"),
    ({"max_consecutive_ops": 0}, "max_consecutive_ops"),
    ({"screenshot_quality": 101}, "from 1 to 100"),
    ({"screenshot_format": "gif"}, "'jpeg' or 'png'"),
    ({"blocked_shortcuts": ["ctrl++"]}, "key names"),
])
def test_bad_safety_settings_are_named(kwargs: dict, words: str) -> None:
    with pytest.raises(ValueError) as info:
        DesktopSafetyConfig(**kwargs)
    assert words in str(info.value)


def test_the_desktop_table_configures_the_tool_and_is_validated(tmp_path: Path) -> None:
    from teragent.config import load_full_config
    from teragent.errors import ConfigError

    cfg = {"desktop": {"enabled": True, "display": ":9", "safe_zones": [[0, 0, 10, 10]],
                       "min_interval": 0, "max_consecutive_ops": 3, "screenshot_format": "png",
                       "blocked_shortcuts": ["ctrl+q"]}}
    tool = DesktopTool(config=cfg)
    assert tool.display == ":9"
    s = tool.safety_config
    assert (s.safe_zones, s.min_interval, s.max_consecutive_ops, s.screenshot_format) == \
        ([(0, 0, 10, 10)], 0, 3, "png")
    toml = tmp_path / "agent.toml"
    toml.write_text("[desktop]\nenabled = true\nsafe_zone = [[0, 0, 1, 1]]\n")
    with pytest.raises(ConfigError) as info:
        load_full_config(str(toml))
    assert "agent.toml:3: [desktop] safe_zone: unknown key; did you mean 'safe_zones'?" \
        in str(info.value)
