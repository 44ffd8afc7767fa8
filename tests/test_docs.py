"""Every command and option is documented, and so is every public Python name."""

from __future__ import annotations

import pytest
import typer.main

import qualcode as qc
from qualcode.cli import app

from .conftest import ROOT

DOCS = ROOT / "docs"


def commands() -> list[tuple[str, object]]:
    found = []

    def walk(command, prefix: list[str]) -> None:
        for name, sub in sorted(command.commands.items()):
            if hasattr(sub, "commands"):
                walk(sub, [*prefix, name])
            else:
                found.append((" ".join(["qualcode", *prefix, name]), sub))

    walk(typer.main.get_command(app), [])
    return found


@pytest.mark.parametrize(("name", "command"), commands(), ids=[n for n, _ in commands()])
def test_command_and_options_documented(name: str, command) -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert f"## `{name}`" in text
    assert command.help
    for option in command.params:
        if option.param_type_name == "option" and option.name != "help":
            assert option.help, f"{name} {option.opts[0]} has no help text"
            assert f"`{', '.join(option.opts)}`" in text


@pytest.mark.parametrize("name", [n for n in qc.__all__ if n != "__version__"])
def test_public_name_documented(name: str) -> None:
    assert name in (DOCS / "python-api.md").read_text(encoding="utf-8")


def test_docs_exist() -> None:
    for name in ("cli.md", "python-api.md", "codebook.md", "anonymisation.md"):
        assert (DOCS / name).stat().st_size > 1000


def test_cli_reference_is_generated_from_the_app() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_cli", DOCS / "generate_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == module.cli_markdown(), (
        "docs/cli.md is out of date: run python docs/generate_cli.py"
    )
