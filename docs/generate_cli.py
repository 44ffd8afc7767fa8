"""Write docs/cli.md from the typer app: `python docs/generate_cli.py`."""

from __future__ import annotations

from pathlib import Path

import typer.main

from qualcode.cli import app

HEADER = (
    "# Command line\n\n"
    "Every command is a thin layer over a library call (see `python-api.md`). Bad input stops "
    "with one line `Error: <file>:<line>: <what> — <fix>` and exit code 1; wrong usage exits "
    "with 2; `--help` works on every command.\n"
)


def _commands(group, prefix: list[str]) -> list[tuple[str, object]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            found += _commands(command, [*prefix, name])
        else:
            found.append((" ".join(["qualcode", *prefix, name]), command))
    return found


def _cell(text: str | None) -> str:
    return " ".join((text or "").replace("|", "/").split())


def _is_argument(param) -> bool:
    return param.param_type_name == "argument"


def command_markdown(name: str, command) -> str:
    help_text = (command.help or "").strip()
    summary, _, rest = help_text.partition("\n\n")
    arguments = [p for p in command.params if _is_argument(p)]
    usage = " ".join(
        [name]
        + [p.name.upper() + ("..." if p.nargs == -1 else "") for p in arguments]
        + ["[OPTIONS]"]
    )
    lines = [f"## `{name}`", "", " ".join(summary.split()), ""]
    if rest:
        lines += [rest.strip(), ""]
    lines += ["```", usage, "```", ""]
    lines += ["| argument or option | meaning | default |", "| --- | --- | --- |"]
    for param in command.params:
        if _is_argument(param):
            lines.append(f"| `{param.name.upper()}` | {_cell(getattr(param, 'help', ''))} | |")
        elif param.name != "help":
            default = param.default
            hidden = default is None or default is False or default == () or callable(default)
            shown = "" if hidden else f"`{default}`"
            lines.append(f"| `{', '.join(param.opts)}` | {_cell(param.help)} | {shown} |")
    return "\n".join(lines) + "\n"


def cli_markdown() -> str:
    group = typer.main.get_command(app)
    return HEADER + "".join("\n" + command_markdown(n, c) for n, c in _commands(group, []))


if __name__ == "__main__":
    target = Path(__file__).with_name("cli.md")
    target.write_text(cli_markdown(), encoding="utf-8")
    print(f"wrote {target}")
