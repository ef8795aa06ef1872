"""Properties: a directory DENY cannot be bypassed by spelling; resolution ignores order."""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from teragent.core.types import ToolSafety
from teragent.errors import PermissionDenied
from teragent.security import (
    EnhancedPermissionManager,
    PermissionEffect,
    PermissionLevel,
    PermissionRule,
)
from teragent.security.paths import canonical_path


def _layout(ws: str) -> None:
    for d in ("secret/a", "public/deep", "café", "secretive"):
        os.makedirs(os.path.join(ws, d))
    for f in ("secret/a/b.txt", "secret/é.txt", "public/x.txt", "secretive/y.txt"):
        with open(os.path.join(ws, f), "w") as fh:
            fh.write("x")
    os.symlink("secret", os.path.join(ws, "link_to_secret"))
    os.symlink("..", os.path.join(ws, "public", "up"))              # public/up -> ws
    os.symlink(os.path.join(ws, "secret", "a"), os.path.join(ws, "public", "abs_a"))
    os.symlink("../secret/a/b.txt", os.path.join(ws, "public", "file_link"))


TARGETS = ["secret", "secret/a", "secret/a/b.txt", "secret/é.txt", "secret/not_yet/new.txt",
           "public/x.txt", "secretive/y.txt", "café", "public/deep"]
# Ways to spell the *first* components of a target.
ALIASES = {
    "secret": ["secret", "link_to_secret", "public/up/secret", "public/../secret",
               "public/deep/../../secret", "missing/../secret", "SECRET_CASE"],
    "public": ["public", "public/up/public", "secret/../public"],
}
NOISE = ["", "./", ".//", "/", "//", "public/..//", "nonexistent/../", "./././"]
UNICODE_NOISE = ["\u2215", "\uff0f", "\u200b", "\u2024", "e\u0301"]


@st.composite
def spellings(draw, ws):
    target = draw(st.sampled_from(TARGETS))
    head, _, rest = target.partition("/")
    first = draw(st.sampled_from(ALIASES.get(head, [head])))
    if first == "SECRET_CASE":  # another case: a different name on Linux
        first = "Secret"
    parts = first.split("/") + (rest.split("/") if rest else [])
    out = []
    for part in parts:
        out.append(draw(st.sampled_from(NOISE)))
        out.append(part)
        out.append("/")
    text = "".join(out)
    if draw(st.booleans()):
        text = text.rstrip("/")
    else:
        text = text + draw(st.sampled_from(["", "/", "//", "/."]))
    if draw(st.integers(0, 9)) == 0:  # a look-alike or invisible character somewhere
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(st.sampled_from(UNICODE_NOISE)) + text[pos:]
    if draw(st.booleans()):
        text = ws + "/" + text
    text = text.replace("///", "//")
    return text or "."


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory + "/")


def test_directory_deny_cannot_be_bypassed_by_spelling():
    with tempfile.TemporaryDirectory() as tmp:
        ws = os.path.realpath(tmp)
        _layout(ws)
        secret = os.path.join(ws, "secret")
        rule_spellings = ["secret", "secret/", "./secret", f"{ws}/secret", f"{ws}//secret/",
                          "link_to_secret", "public/up/secret/", "secret/**"]

        @settings(max_examples=300, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(path=spellings(ws), rule_path=st.sampled_from(rule_spellings),
               tool=st.sampled_from(["read_file", "write_file", "bash", "mystery"]))
        def check(path, rule_path, tool):
            epm = EnhancedPermissionManager(
                default_level=PermissionLevel.BYPASS, workspace=ws, include_default_rules=False,
                tools={"read_file": ToolSafety.READ_ONLY, "write_file": ToolSafety.SAFE_WRITE,
                       "bash": ToolSafety.HIGH_RISK})
            # Everything is allowed, at every priority, except the one directory.
            for source in ("user", "config", "project", "system"):
                epm.add_rule(PermissionRule(PermissionEffect.ALLOW, "*", "**", "all", source))
            epm.add_rule(PermissionRule(PermissionEffect.DENY, "*", rule_path, "secret", "user"))
            allowed, reason = epm.check_tool_params(tool, {"path": path})
            try:
                real = canonical_path(path, ws)
            except PermissionDenied:
                event("refused spelling")
                assert not allowed, f"{path!r} cannot be read but was allowed"
                return
            # The oracle: the operating system's own resolution.
            oracle = os.path.realpath(os.path.join(ws, path))
            assert real == oracle, (path, real, oracle)
            event("inside the secret" if _inside(oracle, secret) else "outside")
            event("through a symlink" if "link" in path or "up" in path else "no symlink")
            if _inside(oracle, secret):
                assert not allowed, f"{path!r} reaches {oracle} and was allowed: {reason}"
            else:
                assert allowed, f"{path!r} ({oracle}) is outside the secret: {reason}"

        check()


EFFECTS = list(PermissionEffect)
SOURCES = ["user", "config", "project", "system"]
TOOLS = ["read_file", "write_file", "bash", "*", "write_*", "read_?ile"]
PATHS = ["", "**", "src", "src/**", "src/*.py", "**/.env", "/etc/*", "docs"]

rules_st = st.lists(st.builds(PermissionRule, effect=st.sampled_from(EFFECTS),
                              tool_pattern=st.sampled_from(TOOLS),
                              path_pattern=st.sampled_from(PATHS),
                              description=st.sampled_from(["a", "b", ""]),
                              source=st.sampled_from(SOURCES),
                              safety=st.sampled_from([(), (ToolSafety.READ_ONLY,),
                                                      (ToolSafety.SAFE_WRITE,)])),
                    min_size=0, max_size=12, unique=True)
QUERIES = [(t, p) for t in ("read_file", "write_file", "bash", "other")
           for p in ("", "src/main.py", "src/deep/x.py", ".env", "/etc/passwd", "docs/a.md")]


@settings(max_examples=150, deadline=None)
@given(rules=rules_st, data=st.data(),
       level=st.sampled_from(list(PermissionLevel)))
def test_resolution_is_independent_of_rule_order(rules, data, level):
    shuffled = data.draw(st.permutations(rules))
    ws = "/tmp/teragent-order-prop-ws"
    tools = {"read_file": ToolSafety.READ_ONLY, "write_file": ToolSafety.SAFE_WRITE,
             "bash": ToolSafety.HIGH_RISK}
    a = EnhancedPermissionManager(level, workspace=ws, tools=tools, rules=rules)
    b = EnhancedPermissionManager(level, workspace=ws, tools=tools)
    for rule in shuffled:
        b.add_rule(rule)
    assert a.get_rules_summary() == b.get_rules_summary()
    for tool, path in QUERIES:
        assert a.check(tool, path) == b.check(tool, path), (tool, path)
