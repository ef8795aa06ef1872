"""Unit tests of the reply schema, grammar, message rendering and reply parsing (no model)."""

from __future__ import annotations

import json

import pytest
from llamacpp_testdata import GET_TIME, READ_FILE, TOOLS
from llama_cpp import LlamaGrammar
from llama_cpp.llama_grammar import json_schema_to_gbnf

from teragent.core.tap import CompiledPrompt
from teragent.core.types import TextDelta, ToolCallDelta, ToolCallReady, ToolCallStarted
from teragent_llamacpp.adapter import LlamaCppAdapter
from teragent_llamacpp.prompting import (
    ANSWER_NUDGE, ANSWER_PATTERN, ReplyParser, build_reply_schema, render_messages, select_tools,
    tighten_schema, tool_instructions,
)


def test_tighten_schema_caps_strings_arrays_and_extra_properties() -> None:
    schema = {"type": "object", "properties": {
        "path": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 500}},
        "mode": {"type": "string", "enum": ["r", "w"]},
        "opts": {"type": "object", "properties": {"x": {"type": ["string", "null"]}}}}}
    out = tighten_schema(schema, max_string=50, max_items=4)
    assert out["additionalProperties"] is False
    assert out["properties"]["path"]["maxLength"] == 50
    assert out["properties"]["tags"]["maxItems"] == 4
    assert out["properties"]["tags"]["items"]["maxLength"] == 50
    assert "maxLength" not in out["properties"]["mode"]
    assert out["properties"]["opts"]["properties"]["x"]["maxLength"] == 50
    assert "maxLength" not in schema["properties"]["path"]  # the input is not changed


def test_tool_without_parameters_takes_the_empty_object() -> None:
    assert tighten_schema({}) == {"type": "object", "properties": {},
                                  "additionalProperties": False}


def test_reply_schema_offers_each_tool_and_an_answer() -> None:
    schema = build_reply_schema(TOOLS)
    alts = schema["oneOf"]
    assert [a["properties"].get("tool", {}).get("const") for a in alts] == \
        ["get_time", "read_file", None]
    assert alts[1]["required"] == ["tool", "arguments"]
    assert alts[1]["properties"]["arguments"]["properties"]["path"]["maxLength"] == 200
    assert alts[2] == {"type": "object", "properties": {"answer": ANSWER},
                       "required": ["answer"]}
    only_tools = build_reply_schema(TOOLS, allow_answer=False)
    assert all("tool" in a["properties"] for a in only_tools["oneOf"])
    assert build_reply_schema([]) == alts[2]


def test_reply_schema_hoists_defs_and_rewrites_refs() -> None:
    tool = {"type": "function", "function": {"name": "move", "parameters": {
        "type": "object", "properties": {"to": {"$ref": "#/$defs/Point"}},
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}}}}}}
    schema = build_reply_schema([tool])
    args = schema["oneOf"][0]["properties"]["arguments"]
    assert args["properties"]["to"] == {"$ref": "#/$defs/t0_Point"}
    assert schema["$defs"]["t0_Point"]["additionalProperties"] is False
    grammar = json_schema_to_gbnf(json.dumps(schema))
    assert "root ::=" in grammar


def test_schema_compiles_to_a_llama_grammar() -> None:
    text = json.dumps(build_reply_schema(TOOLS))
    gbnf = json_schema_to_gbnf(text)
    assert '\\"read_file\\"' in gbnf and '\\"answer\\"' in gbnf
    assert LlamaGrammar.from_json_schema(text, verbose=False) is not None


@pytest.mark.parametrize(("choice", "names", "answer"), [
    (None, ["get_time", "read_file"], True),
    ("auto", ["get_time", "read_file"], True),
    ("required", ["get_time", "read_file"], False),
    ("none", [], True),
    ({"type": "function", "function": {"name": "read_file"}}, ["read_file"], False),
])
def test_select_tools(choice: object, names: list[str], answer: bool) -> None:
    tools, may_answer = select_tools(TOOLS, choice)
    assert [t["function"]["name"] for t in tools] == names
    assert may_answer is answer


def test_tool_instructions_list_signatures_and_format() -> None:
    text = tool_instructions(TOOLS)
    assert "- get_time(): Get the current date and time." in text
    assert "- read_file(path: string): Read a text file" in text
    assert '{"tool": "<tool name>", "arguments": {...}}' in text and '"answer"' in text


def test_render_messages_for_a_template_without_tool_role() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Show me README.md"}]},
        {"role": "assistant", "content": "", "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "read_file", "arguments": '{"path": "README.md"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "# Title"},
        {"role": "tool", "tool_call_id": "call_9", "name": "get_time", "content": "noon"},
    ]
    turns = render_messages(messages, TOOLS)
    assert [t["role"] for t in turns] == ["system", "user", "assistant", "user"]
    assert turns[0]["content"].startswith("Be brief.\n\nYou can use these tools:")
    assert json.loads(turns[2]["content"]) == {"tool": "read_file",
                                               "arguments": {"path": "README.md"}}
    assert turns[3]["content"] == ("Tool result for read_file: # Title\n\n"
                                   "Tool result for get_time: noon")


def test_render_messages_answer_now_replaces_the_tool_list() -> None:
    turns = render_messages([{"role": "user", "content": "hi"}], [], answer_now=True)
    assert turns[0] == {"role": "system", "content": ANSWER_NUDGE}
    assert render_messages([{"role": "user", "content": "hi"}]) == \
        [{"role": "user", "content": "hi"}]


def test_long_tool_results_are_cut() -> None:
    turns = render_messages([{"role": "tool", "content": "x" * 50}], max_tool_result_chars=10)
    assert turns[0]["content"] == "Tool result for the tool: " + "x" * 10 + \
        "\n[... 40 more characters cut]"


def _feed(text: str, size: int) -> tuple[ReplyParser, list[object]]:
    parser = ReplyParser(call_id="call_3")
    events: list[object] = []
    for i in range(0, len(text), size):
        events += parser.feed(text[i:i + size])
    events += parser.finish()
    return parser, events


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
def test_answer_streams_decoded_text_for_any_chunking(size: int) -> None:
    reply = '{ "answer": "Caf\\u00e9 \\"ok\\"\\nline \\ud83d\\ude00 end" }'
    parser, events = _feed(reply, size)
    assert all(isinstance(e, TextDelta) for e in events)
    text = "".join(e.text for e in events)  # type: ignore[attr-defined]
    assert text == parser.text == 'Café "ok"\nline \U0001f600 end'
    assert parser.tool_calls == []


@pytest.mark.parametrize("size", [1, 5, 100])
def test_tool_call_events(size: int) -> None:
    parser, events = _feed('{"tool": "read_file", "arguments": {"path": "a.txt"}}', size)
    assert [type(e) for e in events] == [ToolCallStarted, ToolCallDelta, ToolCallReady]
    call = parser.tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("call_3", "read_file", {"path": "a.txt"})
    assert json.loads(events[1].arguments_delta) == {"path": "a.txt"}  # type: ignore[attr-defined]


def test_cut_off_replies() -> None:
    parser, events = _feed('{"answer": "half a sent', 4)
    assert parser.text == "half a sent" and parser.tool_calls == []
    parser, events = _feed('{"tool": "read_file", "arguments": {"path": "a.t', 4)
    assert parser.tool_calls[0].name == "read_file"
    assert parser.tool_calls[0].parse_error
    parser, events = _feed("plain words", 3)
    assert parser.text == "plain words"
    assert "".join(e.text for e in events) == "plain words"  # type: ignore[attr-defined]


def _prompt(messages: list[dict[str, object]], **extra: object) -> CompiledPrompt:
    return CompiledPrompt(messages=messages, tools=TOOLS, extra=dict(extra))


def test_plan_withdraws_tools_after_max_tool_rounds() -> None:
    adapter = LlamaCppAdapter(tool_profile="full")  # the small one also caps the answer
    first = [{"role": "user", "content": "Show me README.md"}]
    plan = adapter.plan(_prompt(first), "smollm2-135m-instruct")
    assert plan.schema is not None and len(plan.schema["oneOf"]) == 3
    assert plan.call_id == "call_1"
    after = first + [
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1",
         "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "text"}]
    plan = adapter.plan(_prompt(after), "smollm2-135m-instruct")
    assert plan.schema == {"type": "object", "properties": {"answer": ANSWER},
                           "required": ["answer"]}
    assert plan.turns[0]["content"] == ANSWER_NUDGE
    assert plan.call_id == "call_2"
    plan = adapter.plan(_prompt(after, max_tool_rounds=None), "x")
    assert plan.schema is not None and len(plan.schema["oneOf"]) == 3
    unlimited = LlamaCppAdapter(max_tool_rounds=None)
    assert len(unlimited.plan(_prompt(after), "x").schema["oneOf"]) == 3  # type: ignore[index]


def test_plan_without_tools_has_no_grammar() -> None:
    plan = LlamaCppAdapter(temperature=0.5).plan(
        CompiledPrompt(messages=[{"role": "user", "content": "hi"}], extra={"max_tokens": 9}),
        "m")
    assert plan.schema is None and plan.max_tokens == 9 and plan.temperature == 0.5
    assert [GET_TIME, READ_FILE] == TOOLS


def test_answer_turn_restates_the_question_after_tool_results():
    from teragent_llamacpp.prompting import render_messages

    messages = [
        {"role": "user", "content": "What is in notes.txt?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "read_file", "arguments": '{"path": "notes.txt"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "hello"},
    ]
    turns = render_messages(messages, None, answer_now=True)
    assert turns[-1]["role"] == "user"
    assert turns[-1]["content"].endswith(
        "Tool result for read_file: hello\n\nUsing the tool results above, answer: "
        "What is in notes.txt?")
    # without answer_now (tools still offered) nothing is added
    plain = render_messages(messages, None, answer_now=False)
    assert "Using the tool results above" not in plain[-1]["content"]


def test_repeat_penalty_defaults_and_per_call_override():
    from teragent.core.tap import CompiledPrompt
    from teragent_llamacpp.adapter import LlamaCppAdapter

    adapter = LlamaCppAdapter()
    msgs = [{"role": "user", "content": "hi"}]
    assert adapter.plan(CompiledPrompt(messages=msgs), "m").repeat_penalty == 1.3
    plan = adapter.plan(CompiledPrompt(messages=msgs, extra={"repeat_penalty": 1.0}), "m")
    assert plan.repeat_penalty == 1.0


ANSWER = {"type": "string", "pattern": ANSWER_PATTERN}


def test_the_placeholder_can_never_be_the_answer() -> None:
    """SmolLM2 copied the reply format's placeholder ("<text>") as its answer in two of
    three traced demo runs: the instructions show none, and the answer's grammar
    refuses a placeholder-shaped answer."""
    import re

    text = tool_instructions([{"type": "function", "function": {"name": "t"}}])
    assert "<text>" not in text and "<text>" not in ANSWER_NUDGE
    for placeholder in ("<text>", "<answer>", "...", " <text>"):
        assert re.fullmatch(ANSWER_PATTERN, placeholder) is None, placeholder
    for answer in ("The first line is '# Demo'.", "5", "Paris.", "README.md"):
        assert re.fullmatch(ANSWER_PATTERN, answer), answer


def test_required_only_leaves_optional_parameters_out() -> None:
    """The small profile's grammar: ``read_file(path)`` without ``offset``/``limit`` (the
    135M model filled ``"limit": 2`` and answered from a README's title alone)."""
    tool = {"type": "function", "function": {"name": "read_file", "parameters": {
        "type": "object", "properties": {"path": {"type": "string"},
                                         "limit": {"type": "integer"}},
        "required": ["path"]}}}
    full = build_reply_schema([tool])["oneOf"][0]["properties"]["arguments"]
    small = build_reply_schema([tool], required_only=True)["oneOf"][0]["properties"]["arguments"]
    assert set(full["properties"]) == {"path", "limit"}
    assert set(small["properties"]) == {"path"} and small["additionalProperties"] is False
    assert "limit" in tool_instructions([tool])
    assert "limit" not in tool_instructions([tool], required_only=True)
    LlamaGrammar.from_json_schema(json.dumps(build_reply_schema([tool], required_only=True)),
                                  verbose=False)


def test_small_profile_caps_the_answer() -> None:
    """A 135M model rambled into max_tokens; the loop asked it to continue and the
    continuation re-offered the tools. The small profile's grammar closes the answer."""
    import re

    from teragent_llamacpp.prompting import answer_pattern

    schema = build_reply_schema([], max_answer=40)
    pattern = schema["properties"]["answer"]["pattern"]
    assert pattern == answer_pattern(40)
    assert re.fullmatch(pattern, "x" * 40) and not re.fullmatch(pattern, "x" * 41)
    assert re.fullmatch(pattern, "<text>") is None
    assert answer_pattern() == ANSWER_PATTERN
    LlamaGrammar.from_json_schema(json.dumps(build_reply_schema(TOOLS, max_answer=400)),
                                  verbose=False)
    plan = LlamaCppAdapter(tool_profile="small", small_answer_length=40).plan(
        CompiledPrompt(messages=[{"role": "user", "content": "hi"}], tools=TOOLS), "m")
    assert plan.schema is not None
    assert plan.schema["oneOf"][-1]["properties"]["answer"]["pattern"] == answer_pattern(40)
    assert LlamaCppAdapter(tool_profile="full").plan(
        CompiledPrompt(messages=[{"role": "user", "content": "hi"}], tools=TOOLS),
        "m").schema["oneOf"][-1]["properties"]["answer"]["pattern"] == ANSWER_PATTERN


def test_answer_grammar_keeps_the_json_string_closed() -> None:
    """The pattern is matched on the string's raw JSON text: a quote in it let SmolLM2
    close the answer at once (``{"answer": "", } # no output ...``, an empty answer),
    and a leading ``{`` nested the reply format (the answer was ``{``)."""
    import re

    from teragent_llamacpp.prompting import answer_pattern

    for pattern in (ANSWER_PATTERN, answer_pattern(400)):
        for bad in ('", } # no output', "{", '{"answer": "x"}', 'a"b', "a\\q"):
            assert re.fullmatch(pattern, bad) is None, (pattern, bad)
        assert re.fullmatch(pattern, "It counts words {and} lines in 'notes.txt'.")
        # JSON escapes stay possible, for models that quote
        assert re.fullmatch(pattern, 'He said \\"hi\\".\\nBye.')


def test_small_profile_cuts_tool_results_shorter() -> None:
    """SmolLM2 lost the question in 4,000 characters of this repository's README."""
    msgs = [{"role": "user", "content": "Read README.md"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1",
             "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "x" * 3000}]
    small = LlamaCppAdapter(tool_profile="small").plan(_prompt(msgs), "m")
    full = LlamaCppAdapter(tool_profile="full").plan(_prompt(msgs), "m")
    assert "1500 more characters cut" in small.turns[-1]["content"]
    assert "more characters cut" not in full.turns[-1]["content"]
