"""Context estimation per message: the cost of ``ContextWindow.estimate``.

    .venv/bin/python plugins/teragent-context/benchmarks/bench_estimate.py

Measures, on a 1,000-message conversation (English, Chinese and tool-call messages of
200-2,000 characters), the time per message of:

- baseline: ``len(content) // 4`` (the kernel breaker's estimate; no CJK, no tool
  calls, no safety factor);
- cold: the heuristic on texts never seen (a new window each round);
- warm: re-estimating the same conversation (what the agent loop does every step;
  the per-text cache answers);
- tokenizer: with the llama.cpp model's tokenizer, when SmolLM2 is installed.

Reported as microseconds per message and as ratios to the baseline measured in the
same run. Never asserts anything.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from typing import Any, Callable

from teragent_context.window import ContextWindow


def conversation(n: int = 1000, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    words = "the agent reads a file and writes the result to the log".split()
    han = "上下文窗口压缩工具调用结果模型会话记忆搜索文件读取写入"
    out: list[dict[str, Any]] = []
    for i in range(n):
        size = rng.randint(200, 2000)
        kind = i % 4
        if kind == 0:
            out.append({"role": "user", "content": " ".join(rng.choice(words)
                                                          for _ in range(size // 5))})
        elif kind == 1:
            out.append({"role": "assistant", "content": "".join(rng.choice(han)
                                                               for _ in range(size // 3))})
        elif kind == 2:
            out.append({"role": "assistant", "content": "", "tool_calls": [
                {"id": f"c{i}", "type": "function", "function": {
                    "name": "read_file", "arguments": f'{{"path": "src/m{i}.py"}}'}}]})
        else:
            out.append({"role": "tool", "tool_call_id": f"c{i - 1}",
                        "content": "x = 1\n" * (size // 6)})
    return out


def per_message_us(fn: Callable[[], object], n_messages: int, rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) / n_messages * 1e6


def main() -> int:
    messages = conversation()
    n = len(messages)
    baseline = per_message_us(lambda: sum(len(str(m.get("content") or "")) // 4
                                          for m in messages), n)
    cold = per_message_us(lambda: ContextWindow(128_000).estimate(messages), n)
    warm_window = ContextWindow(128_000)
    warm_window.estimate(messages)
    warm = per_message_us(lambda: warm_window.estimate(messages), n)
    rows = [("baseline len//4", baseline), ("heuristic, cold", cold),
            ("heuristic, warm (cached)", warm)]
    try:
        import teragent
        from teragent_llamacpp.models import find_alias

        path = find_alias("smollm2-135m-instruct")
        if path is not None:
            provider = teragent.create_provider(adapter="llamacpp", model=path)
            provider.count_tokens("warm up")
            tok = per_message_us(lambda: ContextWindow(
                128_000, count_tokens=provider.count_tokens).estimate(messages), n, rounds=3)
            rows.append(("llama.cpp tokenizer, cold", tok))
    except ImportError:
        pass
    print(f"{n} messages, median of rounds; ratios against the baseline of this run")
    for name, us in rows:
        print(f"  {name:28s} {us:8.2f} us/message   x{us / baseline:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
