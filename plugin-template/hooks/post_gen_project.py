"""Remove the files that belong to the kinds of plugin not chosen."""

from pathlib import Path

KIND = "{{ cookiecutter.kind }}"
MODULE = Path("src") / "{{ cookiecutter.module }}"

ONLY_FOR = {
    "adapter": [MODULE / "adapter.py", Path("tests") / "test_adapter.py",
                Path("tests") / "test_adapter_contract.py"],
    "compiler": [MODULE / "compiler.py", Path("tests") / "test_compiler.py",
                 Path("tests") / "test_compiler_contract.py"],
}

for kind, paths in ONLY_FOR.items():
    if kind != KIND:
        for path in paths:
            path.unlink()
