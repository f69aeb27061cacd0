"""The documents a user reads: every `genie-play` command written in them parses (nothing runs), and they
cite nothing outside the repository."""

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from genie_play import cli, soak

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", REPO / "weights" / "MODEL_CARD.md", REPO / "weights" / "coinrun" / "MODEL_CARD.md",
        *sorted((REPO / "docs").glob("*.md"))]
SEPARATORS = {";", "&", "&&", "|", "||"}


def bash_blocks(text: str) -> list[str]:
    """The command lines of ```bash blocks, continuation lines joined."""
    lines = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M):
        lines += block.replace("\\\n", " ").splitlines()
    return lines


def inline_commands(text: str) -> list[str]:
    """`genie-play ...` written inline, outside code blocks."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return [span for span in re.findall(r"`([^`\n]+)`", prose) if span.startswith("genie-play ")]


def simple_commands(line: str) -> list[list[str]]:
    """A shell line split into its simple commands (at ; & && | ||), comments dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, current = [], []
    for token in lexer:
        if token in SEPARATORS:
            commands.append(current)
            current = []
        else:
            current.append(token)
    return [c for c in commands + [current] if c]


def genie_play_args(command: list[str]) -> list[str] | None:
    """The arguments a command passes to the genie-play CLI, or None when it is another program."""
    if command[0] == "genie-play":
        return command[1:]
    if command[0] == "torchrun" and "genie_play.cli" in command:
        return command[command.index("genie_play.cli") + 1:]
    return None


def parse_cli(args: list[str], name_only: bool = False) -> None:
    """Parses args as `genie-play` would, converting every value, without running the command."""
    group = typer.main.get_command(cli.app)
    context = group.make_context("genie-play", list(args))
    name, command, rest = group.resolve_command(context, list(args))
    if not name_only:
        command.make_context(name, rest, parent=context)


def commands_in(path: Path) -> list[tuple[str, list[str], bool]]:
    """(the line as written, its genie-play arguments, whether only the command name is checked)."""
    text = path.read_text(encoding="utf-8")
    found = []
    for line in bash_blocks(text):
        for command in simple_commands(line):
            args = genie_play_args(command)
            if args is not None:
                found.append((line.strip(), args, False))
    for span in inline_commands(text):
        args = shlex.split(span)[1:]
        found.append((span, args, len(args) == 1))  # a bare `genie-play collect` names the command only
    return found


ALL_COMMANDS = [(path.relative_to(REPO).as_posix(), line, args, name_only)
                for path in DOCS for line, args, name_only in commands_in(path)]


def test_the_documents_exist_and_hold_commands():
    assert all(path.is_file() for path in DOCS)
    for name in ("README.md", "weights/MODEL_CARD.md"):
        written = [args[0] for doc, _, args, _ in ALL_COMMANDS if doc == name]
        assert {"eval", "train"} <= set(written), name


@pytest.mark.parametrize("doc, line, args, name_only", ALL_COMMANDS,
                         ids=[f"{doc}:{' '.join(args)[:60]}" for doc, _, args, _ in ALL_COMMANDS])
def test_every_written_command_parses(doc, line, args, name_only):
    try:
        parse_cli(args, name_only)
    except Exception as error:  # click's UsageError, BadParameter, MissingParameter, NoSuchOption
        pytest.fail(f"{doc}: `{line}` does not parse: {error}")


def test_the_parser_check_rejects_what_the_cli_rejects():
    for bad in (["evaluate", "--data", "d"], ["eval", "--data", "d", "--clips", "many"], ["eval", "--clip", "4"],
                ["render", "--image", "a.png"]):
        with pytest.raises(Exception):
            parse_cli(bad)


def test_soak_commands_parse(monkeypatch):
    monkeypatch.setattr(soak, "soak", lambda *args, **kwargs: {"growth_mb": 0.0})  # parse, do not step a world
    lines = [line for path in DOCS for line in bash_blocks(path.read_text(encoding="utf-8"))]
    runs = [c for line in lines for c in simple_commands(line) if c[:3] == ["python", "-m", "genie_play.soak"]]
    assert runs
    for command in runs:
        assert soak.main(command[3:]) == 0, command


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_documents_cite_nothing_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    assert "GUIDE" not in text
    assert not re.search(r"session", text, flags=re.I)


def test_code_cites_no_guide():
    cited = [str(p.relative_to(REPO)) for p in (REPO / "genie_play").rglob("*.py") if "GUIDE" in p.read_text(encoding="utf-8")]
    assert not cited


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_point_at_files_that_exist(path):
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8"))
    missing = [t for t in targets if "://" not in t and not (path.parent / t).exists()]
    assert not missing
