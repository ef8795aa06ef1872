"""DesktopTool on a real X server: what xev receives is what the tool said it did, and
what a safety layer refuses never reaches the display."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import pytest

from teragent.tools.desktop import DesktopSafetyConfig, DesktopTool

Recorder = Any  # the xev fixture (conftest.py)


def run(tool: DesktopTool, **params: Any) -> Any:
    return asyncio.run(tool.execute(params))


def free(display: str, **safety: Any) -> DesktopTool:
    return DesktopTool(DesktopSafetyConfig(**{"min_interval": 0, **safety}), display=display)


def presses(rec: Recorder) -> list[Any]:
    return [e for e in rec.events("ButtonPress") if e.button != 2]  # 2: the sentinel


def test_the_tool_is_live_on_a_display(xdisplay: str) -> None:
    tool = DesktopTool(display=xdisplay)
    assert tool.simulation_mode is False and tool.unavailable_reason is None
    assert tool.safety_config.min_interval == 0.5 and tool.safety_config.max_consecutive_ops == 50


def test_click_arrives_as_a_button_press_at_its_position(xev: Recorder) -> None:
    tool = free(xev.display)
    r = run(tool, action="click", x=123, y=77)
    assert r.success, r.error
    assert r.data == "clicked left at (123, 77)"
    evs = xev.wait_for(lambda evs: any(e.type == "ButtonRelease" for e in evs), "a release")
    press = [e for e in evs if e.type == "ButtonPress"]
    assert [(e.root, e.button) for e in press] == [((123, 77), 1)]
    assert run(tool, action="click", x=200, y=150, button="right").success
    xev.wait_for(lambda evs: any(e.type == "ButtonPress" and e.button == 3 for e in evs),
                 "the right click")
    assert [(e.root, e.button) for e in presses(xev)][-1] == ((200, 150), 3)


def test_a_second_click_on_the_same_spot_arrives_too(xev: Recorder) -> None:
    # `xdotool mousemove --sync` waits for the pointer to move: on the same spot, forever
    tool = free(xev.display)
    for _ in range(2):
        r = run(tool, action="click", x=60, y=70)
        assert r.success, r.error
    evs = xev.wait_for(lambda evs: len([e for e in evs if e.type == "ButtonRelease"]) >= 2,
                       "two releases")
    assert [e.root for e in evs if e.type == "ButtonPress"] == [(60, 70), (60, 70)]
    assert run(tool, action="click", x=61, y=71, clicks=2).success  # a double click
    evs = xev.wait_for(lambda evs: len([e for e in evs if e.type == "ButtonRelease"]) >= 4,
                       "four releases")
    assert [e.root for e in evs if e.type == "ButtonPress"][2:] == [(61, 71), (61, 71)]


def test_typed_text_arrives_as_key_presses_and_is_not_echoed(xev: Recorder) -> None:
    tool = free(xev.display)
    assert run(tool, action="move_mouse", x=100, y=100).success  # focus follows the pointer
    r = run(tool, action="type_text", text="hi there")
    assert r.success, r.error
    assert r.data == "typed 8 characters" and "hi there" not in r.to_text()
    want = ["h", "i", "space", "t", "h", "e", "r", "e"]
    evs = xev.wait_for(lambda evs: len([e for e in evs if e.type == "KeyRelease"]) >= 8,
                       "eight key releases")
    assert [e.keysym for e in evs if e.type == "KeyPress"] == want


def test_hotkey_arrives_with_its_modifier(xev: Recorder) -> None:
    tool = free(xev.display)
    assert run(tool, action="move_mouse", x=100, y=100).success
    r = run(tool, action="hotkey", keys="Control, A")
    assert r.success and r.data == "pressed ctrl+a"
    evs = xev.wait_for(lambda evs: any(e.type == "KeyRelease" and e.keysym == "a" for e in evs),
                       "the release of a")
    keys = [e for e in evs if e.type == "KeyPress"]
    assert [e.keysym for e in keys] == ["Control_L", "a"]
    assert keys[1].state & 0x4  # ControlMask held when "a" went down


def test_scroll_move_and_drag_arrive(xev: Recorder) -> None:
    tool = free(xev.display)
    assert run(tool, action="scroll", direction="down", scroll_amount=2, x=50, y=60).success
    assert run(tool, action="move_mouse", x=222, y=111).success
    assert run(tool, action="drag", x=10, y=20, end_x=300, end_y=250).success
    evs = xev.wait_for(lambda evs: any(e.type == "ButtonRelease" and e.root == (300, 250)
                                       for e in evs), "the end of the drag")
    press = [(e.root, e.button) for e in evs if e.type == "ButtonPress"]
    assert press == [((50, 60), 5), ((50, 60), 5), ((10, 20), 1)]
    assert any(e.root == (222, 111) for e in evs if e.type == "MotionNotify")
    release = [e for e in evs if e.type == "ButtonRelease" and e.button == 1]
    assert release[-1].root == (300, 250) and release[-1].state & 0x100  # Button1Mask


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_screenshot_is_an_image_of_the_display(xev: Recorder, fmt: str) -> None:
    from PIL import Image

    (WIDTH, HEIGHT), (_, _, WIN_W, WIN_H) = xev.SCREEN, xev.WINDOW
    r = run(free(xev.display, screenshot_format=fmt), action="screenshot")
    assert r.success, r.error
    assert (r.data["format"], r.data["width"], r.data["height"]) == (fmt, WIDTH, HEIGHT)
    raw = base64.b64decode(r.data["image_base64"])
    assert raw[:3] == b"\xff\xd8\xff" if fmt == "jpeg" else raw[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(raw))
    assert img.format == fmt.upper() and img.size == (WIDTH, HEIGHT)
    # xev's window is white; the bare Xvfb root around it is black.
    px = img.convert("RGB")
    inside, outside = px.getpixel((WIN_W // 2, WIN_H - 20)), px.getpixel((WIDTH - 5, HEIGHT - 5))
    assert min(inside) > 200 and max(outside) < 60, (inside, outside)


def test_safe_zones_refuse_clicks_moves_and_drags_into_them(xev: Recorder) -> None:
    tool = free(xev.display, safe_zones=[(0, 0, 200, 50)])
    for params in ({"action": "click", "x": 10, "y": 10},
                   {"action": "click", "x": 200, "y": 50},  # bounds are inclusive
                   {"action": "move_mouse", "x": 100, "y": 25},
                   {"action": "scroll", "direction": "up", "x": 5, "y": 5},
                   # both ends outside, the path through the zone
                   {"action": "drag", "x": 100, "y": 100, "end_x": 100, "end_y": 10},
                   {"action": "drag", "x": 250, "y": 100, "end_x": 10, "end_y": 40}):
        r = asyncio.run(tool.execute(params))
        assert not r.success and r.metadata == {"refused": True, "layer": "safe_zone"}, params
        assert "forbidden zone [0, 0, 200, 50]" in r.error and "nothing was done" in r.error
    assert run(tool, action="click", x=201, y=51).success
    evs = xev.sentinel()
    assert [e.root for e in presses(xev)] == [(201, 51)]
    assert not any(e.root and e.root[1] <= 50 for e in evs if e.type == "MotionNotify")


def test_rate_limit_refuses_a_second_action_too_soon(xev: Recorder) -> None:
    tool = DesktopTool(DesktopSafetyConfig(min_interval=60), display=xev.display)
    assert run(tool, action="click", x=30, y=30).success
    r = run(tool, action="click", x=40, y=40)
    assert not r.success and r.metadata["layer"] == "rate_limit"
    assert "min_interval" in r.error and "retry in" in r.error
    assert not run(tool, action="screenshot").success  # every action is paced
    xev.sentinel()
    assert [e.root for e in presses(xev)] == [(30, 30)]


def test_consecutive_cap_forces_a_pause_until_reset(xev: Recorder) -> None:
    tool = free(xev.display, max_consecutive_ops=2)
    assert run(tool, action="click", x=30, y=30).success
    assert run(tool, action="click", x=31, y=31).success
    r = run(tool, action="click", x=32, y=32)
    assert not r.success and r.metadata["layer"] == "consecutive_cap"
    assert "reset_safety()" in r.error and tool.consecutive_ops == 2
    assert not run(tool, action="type_text", text="x").success
    assert run(tool, action="screenshot").success  # looking is not input
    xev.sentinel()
    assert [e.root for e in presses(xev)] == [(30, 30), (31, 31)]
    assert not xev.events("KeyPress")
    tool.reset_safety()
    assert run(tool, action="click", x=33, y=33).success


@pytest.mark.parametrize("keys", ["alt,f4", "F4+ALT", "Control+Alt+Del", "ctrl,alt,delete",
                                  "ctrl+shift+alt+delete", "ctrl,alt,BackSpace", "Super+L",
                                  "win,l", "ctrl+alt+f2"])
def test_blocked_shortcuts_never_reach_the_display(xev: Recorder, keys: str) -> None:
    tool = free(xev.display)
    assert run(tool, action="move_mouse", x=100, y=100).success
    r = run(tool, action="hotkey", keys=keys)
    assert not r.success and r.metadata["layer"] == "blocked_shortcut", r
    assert "blocked shortcut" in r.error
    xev.sentinel()
    assert not xev.events("KeyPress", "KeyRelease")


def test_blocked_shortcuts_can_be_added(xev: Recorder) -> None:
    tool = free(xev.display, blocked_shortcuts=["ctrl+q"])
    r = run(tool, action="hotkey", keys="Q, control")
    assert not r.success and "ctrl+q" in r.error
    assert run(tool, action="hotkey", keys="ctrl,w").success


def test_bad_arguments_are_named_and_do_nothing(xev: Recorder) -> None:
    tool = free(xev.display)
    WIDTH, HEIGHT = xev.SCREEN
    cases = [({"action": "click", "x": 5}, "needs 'y'"),
             ({"action": "click", "x": 5000, "y": 5}, f"outside the screen ({WIDTH}x{HEIGHT}"),
             ({"action": "fly"}, "unknown action 'fly'"),
             ({"action": "scroll", "direction": "sideways"}, "direction 'sideways'"),
             ({"action": "hotkey", "keys": "ctrl,,c"}, "separated by commas"),
             ({"action": "type_text", "text": ""}, "non-empty")]
    for params, words in cases:
        r = asyncio.run(tool.execute(params))
        assert not r.success and words in r.error, (params, r.error)
    xev.sentinel()
    assert not presses(xev) and not xev.events("KeyPress")
