"""MkDocs hooks: every package README becomes a page, and pages can include files.

- Each ``plugins/*/README.md``, ``contrib/*/README.md`` and ``plugin-template/README.md``
  is added as a generated page (``plugins/<folder>.md``, ``contrib/<folder>.md``,
  ``plugins/template.md``) and listed in the navigation under the section whose title is
  in :data:`SECTIONS`; a new package appears without touching ``mkdocs.yml``.
- A line ``<!-- include: path/from/repo/root.md -->`` in a page is replaced by that
  file, its headings moved one level down (its title dropped).
- A line ``<!-- packages: plugins -->`` (or ``contrib``) is replaced by a table of the
  packages in that folder: name, link to its page, and its ``pyproject.toml``
  description.

Relative links inside an included or README file are rewritten: to the docs page that
file became, to a file under ``docs/``, or else to the file in the repository
(``repo_url``). Local hooks, so the build needs nothing from the network.
"""

from __future__ import annotations

import posixpath
import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation, Section

ROOT = Path(__file__).resolve().parents[1]
#: repository folder -> (docs folder, navigation section title)
SECTIONS = {"plugins": ("plugins", "First-party plugins"),
            "contrib": ("contrib", "Contrib packs")}
_INCLUDE = re.compile(r"^<!-- include: (\S+) -->$", re.M)
_PACKAGES = re.compile(r"^<!-- packages: (\w+) -->$", re.M)
_LINK = re.compile(r"(\[[^\]]*\]\()([^)\s]+)(\))")
_generated: dict[str, str] = {}  # repo path of a README -> docs path of its page


def _readmes() -> dict[str, str]:
    pages = {"plugin-template/README.md": "plugins/template.md"}
    for folder, (docs_dir, _title) in SECTIONS.items():
        for readme in sorted((ROOT / folder).glob("*/README.md")):
            pages[readme.relative_to(ROOT).as_posix()] = f"{docs_dir}/{readme.parent.name}.md"
    return pages


def _rewrite_links(text: str, source: str, page: str, config: Any) -> str:
    """Make ``source``'s relative links work from the docs page ``page``."""
    repo = (config.get("repo_url") or "").rstrip("/")

    def fix(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"[a-z]+:|#|/", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
        if resolved in _generated:
            dest = _generated[resolved]
        elif resolved.startswith("docs/") and (ROOT / resolved).exists():
            dest = resolved[len("docs/"):]
        elif repo:
            kind = "tree" if (ROOT / resolved).is_dir() else "blob"
            return f"{m.group(1)}{repo}/{kind}/main/{resolved}{'#' + anchor if anchor else ''})"
        else:
            return m.group(0)
        rel = posixpath.relpath(dest, posixpath.dirname(page) or ".")
        return f"{m.group(1)}{rel}{'#' + anchor if anchor else ''}{m.group(3)}"

    out, fenced = [], False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line if fenced else _LINK.sub(fix, line))
    return "".join(out)


def on_files(files: Files, config: Any) -> Files:
    _generated.clear()
    _generated.update(_readmes())
    for source, page in _generated.items():
        text = (ROOT / source).read_text(encoding="utf-8")
        files.append(File.generated(config, page,
                                    content=_rewrite_links(text, source, page, config)))
    return files


def on_nav(nav: Navigation, config: Any, files: Files) -> Navigation:
    titles = {title: docs_dir for docs_dir, title in SECTIONS.values()}
    for item in nav.items:
        if isinstance(item, Section) and item.title in titles:
            prefix = titles[item.title] + "/"
            listed = {getattr(child, "file", None) for child in item.children}
            for page_path in sorted(p for p in _generated.values() if p.startswith(prefix)):
                file = files.get_file_from_path(page_path)
                if file is None or file in listed or file.page is None:
                    continue
                file.page.parent = item
                item.children.append(file.page)
    return nav


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    def include(m: re.Match[str]) -> str:
        source = m.group(1)
        text = (ROOT / source).read_text(encoding="utf-8")
        text = re.sub(r"\A# .*\n+", "", text)  # the including page has the title
        lines, fenced = [], False
        for line in text.splitlines(keepends=True):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            lines.append("#" + line if not fenced and line.startswith("#") else line)
        return _rewrite_links("".join(lines), source, page.file.src_uri, config)

    def packages(m: re.Match[str]) -> str:
        folder = m.group(1)
        rows = ["| package | what it adds |", "|---|---|"]
        for project in sorted((ROOT / folder).glob("*/pyproject.toml")):
            meta = tomllib.loads(project.read_text(encoding="utf-8")).get("project", {})
            name = meta.get("name", project.parent.name)
            text = re.sub(r"^TerAgent (plugin|tool pack)s?: ?", "",
                          meta.get("description", ""), flags=re.I)
            link = posixpath.relpath(f"{SECTIONS[folder][0]}/{project.parent.name}.md",
                                     posixpath.dirname(page_uri) or ".")
            text = text.replace("|", "\\|")
            rows.append(f"| [`{name}`]({link}) | {text} |")
        return "\n".join(rows) + "\n"

    page_uri = page.file.src_uri
    return _PACKAGES.sub(packages, _INCLUDE.sub(include, markdown))
