"""The tools: ``http_get`` (status, headers and body of one GET) and ``fetch_url`` (a
web page as readable text).

Both declare their URL parameter (:attr:`BaseTool.url_params`), so the guard chain
sees the URL as a URL, not as a path, and every other argument is declared as data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from teragent.tools import BaseTool, ToolResult, ToolSafety

if TYPE_CHECKING:  # the client module loads at the first fetch, not with the tools
    from teragent_webtools.fetch import FetchResult, WebSettings

__all__ = ["HttpGetTool", "FetchUrlTool", "http_get", "fetch_url", "html_to_text"]

_SHOWN_HEADERS = ("content-type", "content-length", "last-modified", "etag", "location")


class _WebTool(BaseTool):
    category: ClassVar[str] = "web"
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = True
    url_params: ClassVar[tuple[str, ...]] = ("url",)

    def __init__(self, settings: WebSettings | None = None) -> None:
        #: ``None``: the plugin's settings in force (``[plugins.webtools]``).
        self.settings = settings

    async def _fetch(self, url: str, headers: dict[str, str] | None = None
                     ) -> FetchResult | ToolResult:
        import httpx  # loaded on the first fetch: ~90 ms, not paid by building an agent

        from teragent_webtools.fetch import FetchRefused, fetch

        try:
            return await fetch(url, headers=headers, conf=self.settings)
        except FetchRefused as exc:
            return ToolResult(success=False, error=f"refused: {exc}",
                              metadata={"refused": True})
        except TimeoutError:
            return ToolResult(success=False, error=f"timed out fetching {url}")
        except httpx.HTTPError as exc:
            return ToolResult(success=False,
                              error=f"request failed: {type(exc).__name__}: {exc}")


class HttpGetTool(_WebTool):
    name: ClassVar[str] = "http_get"
    description: ClassVar[str] = (
        "HTTP GET one URL and return its status, main headers and body as text (cut at a "
        "size limit). Public http/https addresses only.")
    keywords: ClassVar[tuple[str, ...]] = ("http", "get", "api", "url", "request", "json")
    data_params: ClassVar[tuple[str, ...]] = ("headers", "max_chars")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "The http or https URL."},
            "headers": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "Extra request headers, e.g. Accept."},
            "max_chars": {"type": "integer", "minimum": 1,
                          "description": "Most characters of the body returned "
                                         "(default 20000)."},
        },
        "required": ["url"],
        "additionalProperties": False,
    }

    async def execute(self, params: dict[str, Any], progress_callback: Any = None
                      ) -> ToolResult:
        result = await self._fetch(params["url"], params.get("headers"))
        if isinstance(result, ToolResult):
            return result
        max_chars = int(params.get("max_chars") or 20_000)
        text = result.text()
        return ToolResult(success=result.status < 400, data={
            "url": result.url,
            "status": result.status,
            "headers": {k: v for k, v in result.headers.items() if k in _SHOWN_HEADERS},
            "body": text[:max_chars],
            "truncated": result.truncated or len(text) > max_chars,
            "redirects": result.redirects,
        }, error=None if result.status < 400 else f"HTTP {result.status}")


class FetchUrlTool(_WebTool):
    name: ClassVar[str] = "fetch_url"
    description: ClassVar[str] = (
        "Fetch a web page and return its title and readable text (HTML tags, scripts "
        "and styles removed). Public http/https addresses only.")
    keywords: ClassVar[tuple[str, ...]] = ("web", "page", "fetch", "url", "read", "website")
    data_params: ClassVar[tuple[str, ...]] = ("max_chars",)
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "The http or https URL of the page."},
            "max_chars": {"type": "integer", "minimum": 1,
                          "description": "Most characters of text returned (default 20000)."},
        },
        "required": ["url"],
        "additionalProperties": False,
    }

    async def execute(self, params: dict[str, Any], progress_callback: Any = None
                      ) -> ToolResult:
        result = await self._fetch(params["url"])
        if isinstance(result, ToolResult):
            return result
        if result.status >= 400:
            return ToolResult(success=False, error=f"HTTP {result.status} for {result.url}")
        max_chars = int(params.get("max_chars") or 20_000)
        raw = result.text()
        if "html" in result.content_type or raw.lstrip()[:15].lower().startswith(
                ("<!doctype html", "<html")):
            title, text = html_to_text(raw)
        else:
            title, text = "", raw
        truncated = result.truncated or len(text) > max_chars
        header = f"# {title}\n\n" if title else ""
        return ToolResult(success=True, data=header + text[:max_chars]
                          + ("\n\n[truncated]" if truncated else ""),
                          metadata={"url": result.url, "status": result.status,
                                    "truncated": truncated})


def html_to_text(html: str) -> tuple[str, str]:
    """``(title, text)`` of an HTML document: tags dropped, whitespace tidied."""
    from teragent_webtools.text import html_to_text as convert  # html.parser on first use

    return convert(html)


http_get = HttpGetTool()
fetch_url = FetchUrlTool()
