"""End to end: a scripted model writes a small project through Design → Plan → Code →
Review. Task 1.1's first answer fails the deterministic checks (its own test fails),
the same request asked again passes; task 1.2 fails twice. The tracer then yields the
one valid pair (1.1: same prompt, PASS over FAIL) and refuses to pair 1.1's PASS with
1.2's FAILs (different prompts)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from teragent.testing.scripted import ScriptedModel, reply

pytest.importorskip("teragent_traces")

BAD_CALC = ("<file path='calc.py'>\ndef add(a, b):\n    return a - b\n</file>\n"
            "<file path='test_calc.py'>\nfrom calc import add\n\n\ndef test_add():\n"
            "    assert add(2, 3) == 5\n</file>")
GOOD_CALC = BAD_CALC.replace("return a - b", "return a + b")
BAD_CLI = ("<file path='cli.py'>\nfrom calc import multiply\n\nprint(multiply(2, 3))\n"
           "</file>")
BAD_CLI_2 = "<file path='cli.py'>\nimport calculator_lib\n</file>"
PLAN = ("1.1: Calculator module [files: calc.py, test_calc.py]\n"
        "1.2: Command line [files: cli.py]")


def _run(tmp_path: Path) -> tuple[object, object, ScriptedModel]:
    from teragent import TAPTracer
    from teragent_pipeline.pipeline import DevelopmentPipeline

    model = ScriptedModel([
        reply("Modules: calc (add), cli (prints a product)."),   # design
        reply(PLAN),                                              # plan
        reply(BAD_CALC), reply(GOOD_CALC),                        # 1.1: FAIL, PASS
        reply(BAD_CLI), reply(BAD_CLI_2),                         # 1.2: FAIL, FAIL
        reply("calc is fine; cli imports a function that does not exist."),  # review
    ])
    tracer = TAPTracer(trace_dir=tmp_path / "traces")
    project = tmp_path / "project"
    project.mkdir()
    # The scripted answers are this test's own code: trusted, so no sandbox is needed.
    pipeline = DevelopmentPipeline(project, provider=model, tracer=tracer, max_attempts=2,
                                   run_tests=True, timeout=60, sandbox=False)
    result = asyncio.run(pipeline.run("a calculator with a command line"))
    model.assert_consumed()
    return result, tracer, model


def test_pipeline_labels_and_pairs(tmp_path: Path) -> None:
    from teragent_traces.tracer import PairRefused

    result, tracer, model = _run(tmp_path)
    # The pipeline: two tasks, 1.1 completed on its second answer, 1.2 failed.
    assert [(t.id, t.status) for t in result.tasks] == [("1.1", "completed"), ("1.2", "failed")]
    assert [(a.task_id, a.attempt, a.passed) for a in result.attempts] == [
        ("1.1", 1, False), ("1.1", 2, True), ("1.2", 1, False), ("1.2", 2, False)]
    first = result.attempts[0].data
    assert first["checks"]["tests"] == "FAIL" and first["checks"]["syntax"] == "PASS"
    assert result.attempts[2].data["checks"]["imports"] == "FAIL"
    assert (tmp_path / "project" / "calc.py").read_text().strip().endswith("return a + b")
    assert "cli imports" in result.review
    # The retry re-sent the same request: identical compiled prompts on the wire.
    assert model.requests[2] == model.requests[3]

    # Every stage call was traced (7 calls), every Code answer labelled.
    traces = tracer.export_traces()
    assert len(traces) == 7
    labels = {(t["task_id"], t["response"]["text"]): t["label"] for t in traces}
    assert labels[("1.1", BAD_CALC)] == "FAIL" and labels[("1.1", GOOD_CALC)] == "PASS"
    assert labels[("1.2", BAD_CLI)] == "FAIL" and labels[("1.2", BAD_CLI_2)] == "FAIL"
    assert labels[("design", "Modules: calc (add), cli (prints a product).")] is None

    pairs = tracer.export_dpo_pairs()
    assert len(pairs) == 1
    pair = pairs[0]
    assert pair.strategy == "same_task_retry" and pair.task_id == "1.1"
    assert pair.chosen == GOOD_CALC and pair.rejected == BAD_CALC
    assert "Implement task 1.1" in pair.prompt
    # 1.1's PASS against 1.2's FAILs: same intent, different prompts → refused, with why.
    refused = tracer.refused_pairs
    assert len(refused) == 2
    assert {r["rejected_task_id"] for r in refused} == {"1.2"}
    assert all("different prompts" in r["reason"] for r in refused)
    with pytest.raises(PairRefused, match="different prompts"):
        tracer.pair(pair.chosen_trace_id, refused[0]["rejected_trace_id"])
    assert tracer.export_dpo_pairs("cross_task") == []
    # Partial only when asked: 1.2 has FAILs only.
    partial = [p for p in tracer.export_dpo_pairs(include_partial=True)
               if p.strategy == "partial"]
    assert len(partial) == 1 and partial[0].chosen is None and \
        partial[0].rejected_task_id == "1.2"

    # The two TRL formats.
    std = tracer.export_dpo_pairs_jsonl(tmp_path / "dpo.jsonl")
    rows = [json.loads(line) for line in std.read_text().splitlines()]
    assert rows == [{"prompt": pair.prompt, "chosen": GOOD_CALC, "rejected": BAD_CALC}]
    chat = tracer.export_dpo_pairs_jsonl(tmp_path / "chat.jsonl", format="chat")
    row = json.loads(chat.read_text())
    assert row["chosen"] == [{"role": "assistant", "content": GOOD_CALC}]
    assert row["prompt"][-1]["role"] == "user" and "Implement task 1.1" in \
        row["prompt"][-1]["content"]

    stats = tracer.get_trace_stats()
    assert (stats.total_requests, stats.passed, stats.failed, stats.dpo_pairs,
            stats.refused_pairs) == (7, 1, 3, 1, 2)


def test_pipeline_drivers_come_from_the_router_profile(tmp_path: Path) -> None:
    pytest.importorskip("teragent_router")
    from teragent.errors import UserError
    from teragent_pipeline.pipeline import DevelopmentPipeline

    config = {"drivers": {"mock.fast": {"adapter": "mock", "compiler": "default",
                                        "model": "m-fast"}},
              "execution": {"pipeline": {"design_driver": "mock.fast",
                                         "plan_driver": "mock.fast",
                                         "execute_driver": "mock.fast",
                                         "review_driver": "mock.slow"}}}
    pipeline = DevelopmentPipeline(tmp_path, config=config)
    assert pipeline.provider_for("execute").model == "m-fast"
    with pytest.raises(UserError, match="review stage's driver 'mock.slow'"):
        pipeline.provider_for("review")


def test_pipeline_over_the_wire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same run through the openai_compatible adapter against the fake OpenAI
    server on loopback: the retry is the same request body on the wire, and the pair
    and refusals come out the same."""
    pytest.importorskip("teragent_openai")
    import teragent
    from teragent import TAPTracer
    from teragent_pipeline.pipeline import DevelopmentPipeline
    from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread

    monkeypatch.setenv("PIPELINE_FAKE_KEY", "sk-test-pipeline-0123456789")
    server = FakeOpenAIServer(strict=True).script(*(ScriptedReply(text=t) for t in (
        "Modules: calc, cli.", PLAN, BAD_CALC, GOOD_CALC, BAD_CLI, BAD_CLI_2, "Reviewed.")))
    tracer = TAPTracer(trace_dir=tmp_path / "traces")
    project = tmp_path / "project"
    project.mkdir()
    with serve_in_thread(server) as url:
        async def main() -> object:
            async with teragent.create_provider(
                    adapter="openai_compatible", model="fake-model", base_url=url,
                    api_key_env="PIPELINE_FAKE_KEY") as provider:
                pipeline = DevelopmentPipeline(project, provider=provider, tracer=tracer,
                                               run_tests=True, timeout=60, sandbox=False)
                return await pipeline.run("a calculator with a command line")
        result = asyncio.run(main())
    bodies = [r.body for r in server.requests]
    assert len(bodies) == 7 and bodies[2] == bodies[3]  # the retry: the same request
    assert [t.status for t in result.tasks] == ["completed", "failed"]  # type: ignore[attr-defined]
    pairs = tracer.export_dpo_pairs()
    assert [(p.chosen, p.rejected) for p in pairs] == [(GOOD_CALC, BAD_CALC)]
    assert len(tracer.refused_pairs) == 2
