"""``.agent.md`` and the memory tools: offline FTS5 search, hybrid with the embedder
plugin, and the guard chain applying to them like to any tool."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from teragent.compose import build_agent
from teragent.testing.scripted import ScriptedModel, Step


def test_agent_md_round_trip(tmp_path: Path) -> None:
    from teragent.context import load_agent_md, save_agent_md  # documented with context

    assert load_agent_md(tmp_path) == ""
    path = save_agent_md("# Project memory\n\nUse PostgreSQL 16.", tmp_path)
    assert path == tmp_path / ".agent.md"
    assert load_agent_md(tmp_path) == "# Project memory\n\nUse PostgreSQL 16.\n"
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert "PostgreSQL" in load_agent_md()
    finally:
        os.chdir(cwd)
    with pytest.raises(TypeError):
        save_agent_md(b"bytes", tmp_path)  # type: ignore[arg-type]


def _run(workspace: Path, steps: list[Step], config: dict[str, Any] | None = None,
         **options: Any) -> Any:
    model = ScriptedModel(steps)

    async def main() -> Any:
        agent = build_agent(config or {}, workspace=workspace, provider=model,
                            tool_names=["memory_search", "memory_get", "memory_store",
                                        "memory_update"], stream=False, **options)
        return await agent.run("remember things")

    result = asyncio.run(main())
    model.assert_consumed()
    return result


def _outputs(result: Any) -> list[str]:
    return [o.result.to_text() for o in result.tool_outcomes]


def test_store_search_get_update_through_an_agent_run(memory_host: Any,
                                                      tmp_path: Path) -> None:
    (tmp_path / ".agent.md").write_text("# Conventions\n\nReleases ship on Tuesdays.\n")
    result = _run(tmp_path, [
        Step(tool_calls=[("memory_store", {"title": "Database choice", "content":
                                           "We use PostgreSQL 16 in production."})]),
        Step(tool_calls=[("memory_search", {"query": "which database in production?"})]),
        Step(tool_calls=[("memory_search", {"query": "when do releases ship"})]),
        Step(text="ok"),
    ], allow_writes=True)
    stored, found_db, found_release = _outputs(result)
    assert stored.startswith("Stored .agent/memory/") and stored.endswith("-database-choice.md")
    note = stored.removeprefix("Stored ")
    assert note in found_db and "PostgreSQL 16" in found_db
    assert ".agent.md" in found_release and "Tuesdays" in found_release
    result = _run(tmp_path, [
        Step(tool_calls=[("memory_update", {"path": note, "old": "PostgreSQL 16",
                                            "new": "PostgreSQL 17"})]),
        Step(tool_calls=[("memory_get", {"path": note})]),
        Step(tool_calls=[("memory_update", {"path": note, "append": "Upgrade done."})]),
        Step(tool_calls=[("memory_search", {"query": "upgrade"})]),
        Step(text="ok"),
    ], allow_writes=True)
    updated, got, appended, search = _outputs(result)
    assert updated == f"Updated {note}"
    assert got == "# Database choice\n\nWe use PostgreSQL 17 in production.\n"
    assert "Upgrade done." in search


def test_writes_are_refused_like_any_write_tool(memory_host: Any, tmp_path: Path) -> None:
    result = _run(tmp_path, [
        Step(tool_calls=[("memory_store", {"title": "x", "content": "secret plan"})]),
        Step(text="ok"),
    ])
    (outcome,) = result.tool_outcomes
    assert outcome.denied and not (tmp_path / ".agent" / "memory").exists()


def test_protected_paths_apply_to_memory_tools(memory_host: Any, tmp_path: Path) -> None:
    private = tmp_path / ".agent" / "memory" / "private"
    private.mkdir(parents=True)
    (private / "salary.md").write_text("# Salaries\n\nThe salary budget is confidential.\n")
    (tmp_path / ".agent" / "memory" / "open.md").write_text("# Budget\n\nCloud budget.\n")
    config = {"workspace": {"protected": [".agent/memory/private/**"]}}
    result = _run(tmp_path, [
        Step(tool_calls=[("memory_search", {"query": "salary budget"})]),
        Step(tool_calls=[("memory_get", {"path": ".agent/memory/private/salary.md"})]),
        Step(tool_calls=[("memory_update", {"path": ".agent/memory/private/salary.md",
                                            "content": "gone"})]),
        Step(tool_calls=[("memory_get", {"path": ".env"})]),
        Step(tool_calls=[("memory_store", {"path": "src/app.md", "content": "x"})]),
        Step(text="ok"),
    ], config, allow_writes=True)
    search, get, update, env, outside = result.tool_outcomes
    assert "open.md" in search.result.to_text()
    assert "salary" not in search.result.to_text().lower()
    assert get.denied and update.denied and env.denied
    assert "not a memory file" in outside.result.to_text()
    assert "confidential" in (private / "salary.md").read_text()


def test_fts_search_is_offline_and_follows_hand_edits(memory_host: Any,
                                                      tmp_path: Path) -> None:
    from teragent_memory.tools import memory_index

    notes = tmp_path / ".agent" / "memory"
    notes.mkdir(parents=True)
    (notes / "a.md").write_text("# Cache\n\nRedis caches product pages for five minutes.\n")
    index = memory_index(tmp_path, {"memory": {"search": "auto"}})
    assert index.embedder is None  # no embedder plugin in this host: FTS5 only
    index.sync()
    assert [h.path for h in index.search("redis caching")] == [".agent/memory/a.md"]
    (notes / "a.md").write_text("# Queue\n\nCelery runs the background jobs.\n")
    (notes / "b.md").write_text("# Cache\n\nMemcached was replaced by Redis.\n")
    assert index.sync() == 2
    assert [h.path for h in index.search("redis")] == [".agent/memory/b.md"]
    (notes / "b.md").unlink()
    index.sync()
    assert index.search("redis") == []
    from teragent.errors import UserError

    with pytest.raises(UserError, match="pip install teragent-memory-wordllama"):
        index.search("redis", mode="semantic")


def test_memory_table_is_strict(memory_host: Any, tmp_path: Path) -> None:
    from teragent.config.loader import load_full_config
    from teragent.errors import ConfigError

    toml = tmp_path / "agent.toml"
    toml.write_text('[memory]\ndir = "../elsewhere"\n')
    with pytest.raises(ConfigError, match="inside the workspace"):
        load_full_config(toml)


def test_hybrid_search_with_the_bundled_embedder(hybrid_host: Any, tmp_path: Path) -> None:
    from teragent_memory.tools import memory_index

    notes = tmp_path / ".agent" / "memory"
    notes.mkdir(parents=True)
    (notes / "rollback.md").write_text(
        "# Rollback\n\nSwitch the load balancer to the previous colour.\n")
    (notes / "notes.md").write_text("# Release notes\n\nWritten for customers.\n")
    index = memory_index(tmp_path, {})
    assert index.embedder is not None and index.embedder.name.startswith("wordllama")
    index.sync()
    hits = index.search("how do we undo a bad deployment", 2)
    assert hits[0].path == ".agent/memory/rollback.md" and hits[0].source == "hybrid"
    assert index.search("undo a bad deployment", 1, "fts") == []  # no shared word


def test_recall_on_the_labelled_set(hybrid_host: Any) -> None:
    """The figures in the README (regression guard; the script prints them)."""
    import importlib.util
    import tempfile

    path = Path(__file__).parent.parent / "benchmarks" / "eval_recall.py"
    spec = importlib.util.spec_from_file_location("eval_recall", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    from teragent_memory_wordllama.embedder import WordLlamaEmbedder

    notes, queries = module.load_set()
    assert len(notes) == 100 and len(queries) == 40
    with tempfile.TemporaryDirectory() as tmp:
        index = module.build(Path(tmp), notes, WordLlamaEmbedder())
        fts = module.recall_at(index, queries, "fts")[0]
        semantic = module.recall_at(index, queries, "semantic")[0]
        hybrid = module.recall_at(index, queries, "hybrid")[0]
        index.close()
    assert fts >= 0.8 and semantic >= 0.8
    assert hybrid >= max(fts, semantic)
