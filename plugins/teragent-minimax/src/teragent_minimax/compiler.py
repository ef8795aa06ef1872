"""The ``minimax_m3`` compiler: MSA full-text injection, multimodal blocks, desktop.

- **MSA full-text injection**: MiniMax M3's sparse attention makes long inputs cheap, so
  every context value goes in whole, as ``<document title="...">`` blocks (never
  summarised or cut); ``extra["msa_full_text"]`` records it.
- **Multimodal**: images and videos become ``image_url`` / ``video_url`` content parts
  before the text (checked by :mod:`teragent_openai.multimodal`).
- **Desktop**: a ``context["desktop"]`` dict (``screenshot``, ``active_window``,
  ``interactive_elements``, ``screen_size``) becomes desktop-operation instructions
  with the seven actions and a JSON answer shape; its screenshot becomes an image part.
- **Video hints**: with video present, ``extra["minimax_video_mode"]`` (``understand``
  or ``summarize``) and ``extra["minimax_frame_sampling"]`` (``auto``, ``uniform``,
  ``keyframe``, ``dense``) are set, from the options or ``request.meta``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from teragent.core.compiler import TAPCompiler
from teragent.errors import UserError

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first compile, not the compiler
    from teragent.core.tap import CompiledPrompt, MultimodalContent, TAPRequest

__all__ = ["MiniMaxM3Compiler", "DESKTOP_ACTIONS", "VIDEO_MODES", "FRAME_SAMPLING"]

VIDEO_MODES = ("understand", "summarize")
FRAME_SAMPLING = ("auto", "uniform", "keyframe", "dense")
DESKTOP_ACTIONS = {
    "screenshot": "capture the screen (no parameters)",
    "click": "click at x, y (button: left|right|middle, optional)",
    "type_text": "type the given text",
    "scroll": "scroll: direction (up|down|left|right), scroll_amount",
    "hotkey": "press keys, comma-separated, e.g. \"ctrl,c\"",
    "move_mouse": "move the pointer to x, y",
    "drag": "drag from x, y to end_x, end_y",
}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _screenshot_item(shot: Any) -> MultimodalContent:
    from teragent.core.tap import MultimodalContent

    if isinstance(shot, dict):
        return MultimodalContent(**shot)
    text = str(shot)
    if text.startswith(("http://", "https://", "data:")):
        return MultimodalContent(type="image_url", url=text)
    return MultimodalContent(type="image_base64", data=text, mime_type="image/png")


class MiniMaxM3Compiler(TAPCompiler):
    """MiniMax M3 compiler.

    Options:
        video_mode: ``"understand"`` (default) or ``"summarize"``.
        frame_sampling: ``"auto"`` (default), ``"uniform"``, ``"keyframe"`` or ``"dense"``.
    """

    name = "minimax_m3"
    compiler_type = "minimax_m3"
    supports_multimodal = True

    def _choice(self, request: TAPRequest, key: str, allowed: tuple[str, ...]) -> str:
        value = str(request.meta.get(key) or self.options.get(key) or allowed[0])
        if value not in allowed:
            raise UserError(f"minimax_m3 {key} must be one of {', '.join(allowed)}; "
                            f"got {value!r}.")
        return value

    def desktop_section(self, desktop: dict[str, Any]) -> str:
        lines = ["# Desktop operation",
                 "You control a desktop. Choose ONE next action from:"]
        lines += [f"- {name}: {what}" for name, what in DESKTOP_ACTIONS.items()]
        if desktop.get("active_window"):
            lines.append(f"Active window: {desktop['active_window']}")
        if desktop.get("screen_size"):
            lines.append(f"Screen size: {desktop['screen_size']}")
        elements = desktop.get("interactive_elements") or []
        if elements:
            lines.append("Interactive elements:")
            lines += [f"- {_text(e) if not isinstance(e, dict) else json.dumps(e, ensure_ascii=False)}"
                      for e in elements]
        if desktop.get("screenshot"):
            lines.append("The current screenshot is attached as an image.")
        lines.append('Answer with JSON: {"action": "<name>", "params": {...}, '
                     '"reasoning": "<why>"}.')
        return "\n".join(lines)

    def compile(self, request: TAPRequest) -> CompiledPrompt:
        from teragent.core.tap import CompiledPrompt
        from teragent_openai.multimodal import is_video, to_openai_part, validate_multimodal

        items = validate_multimodal(request.multimodal_context, target="minimax_m3")
        desktop = request.context.get("desktop")
        if desktop is not None and not isinstance(desktop, dict):
            raise UserError("context['desktop'] must be a dict with screenshot, "
                            "active_window, interactive_elements (all optional).")
        if desktop and desktop.get("screenshot"):
            items += validate_multimodal([_screenshot_item(desktop["screenshot"])],
                                         target="minimax_m3")
        docs = [(k, v) for k, v in request.context.items()
                if k != "desktop" and v is not None and v != ""]
        sections = []
        if docs:
            sections.append("\n".join(f'<document title="{_attr(str(k))}">\n{_text(v)}\n'
                                      "</document>" for k, v in docs))
        if desktop:
            sections.append(self.desktop_section(desktop))
        extra: dict[str, Any] = {"msa_full_text": True}
        if any(is_video(i) for i in items):
            mode = self._choice(request, "video_mode", VIDEO_MODES)
            sampling = self._choice(request, "frame_sampling", FRAME_SAMPLING)
            extra.update(minimax_video_mode=mode, minimax_frame_sampling=sampling)
            sections.append(f"# Video\nMode: {mode} "
                            + ("(answer from the video's content, citing timestamps)."
                               if mode == "understand" else
                               "(summarise the video's content in order).")
                            + f" Frame sampling: {sampling}.")
        if desktop is not None:
            extra["desktop"] = True
        sections.append(f"# Task\n{request.instruction}")
        if request.constraints:
            sections.append("# Constraints\n" + "\n".join(f"- {c}" for c in request.constraints))
        if request.output_format_hint:
            sections.append(f"# Output format\n{request.output_format_hint}")
        text = "\n\n".join(sections)
        content: Any = ([*(to_openai_part(i) for i in items), {"type": "text", "text": text}]
                        if items else text)
        return CompiledPrompt(
            messages=[{"role": "system", "content": self.get_system_prompt(request.intent)},
                      {"role": "user", "content": content}],
            tools=request.tools, extra=extra)
