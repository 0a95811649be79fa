"""Runnable docs: every command, code block and example in README.md and docs/ is executed, so
that a stale page fails (as SimPy and Ciw test their docs).

- ``sh`` blocks: each ``abroad ...`` line runs (exit status 0) in a scratch folder that sees the
  repository's ``examples/``; ``cp -r A B`` copies; ``make`` and ``.venv`` lines are what CI
  itself runs (``.ci/run``) and are skipped here; ``abroad serve`` and ``abroad demo-live``
  (which run until stopped) are checked with ``--help``; a password prompt gets a password.
  ``bash`` blocks are administration steps outside abroad (PostgreSQL, backups) and are not
  run.
- ``python`` blocks run from the repository root.
- ``yaml`` blocks: in docs/reference/station-spec.md they load as a station spec; in
  docs/reference/scenario-format.md and docs/reference/demand.md each replaces its section of
  the bundled example's scenario.yaml, which must then load; ``yaml grid`` blocks are sweep
  grids (validated against the example's variants) and ``yaml itinerary`` blocks are tours
  itineraries (read against the example's tours section).
- ``console`` blocks are golden output: ``$ abroad ...`` lines run (after ``yaml file=NAME``
  blocks of the same page are written) and what they print must match the block exactly.
- Docstring examples (``>>>``) in the package run as doctests.
"""

from __future__ import annotations

import doctest
import importlib
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abroad.cli import app

from tests_paths import EXAMPLE, REPO

PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.M | re.S)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    info: str
    text: str

    @property
    def lang(self) -> str:
        return self.info.split()[0] if self.info.strip() else ""

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(lang: str) -> list[Block]:
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            b = Block(page, text.count("\n", 0, m.start()) + 1, m[1].strip(), m[2])
            if b.lang == lang:
                out.append(b)
    return out


def _scratch(tmp_path: Path) -> Path:
    (tmp_path / "examples").symlink_to(REPO / "examples", target_is_directory=True)
    return tmp_path


def test_the_docs_have_blocks_of_every_kind() -> None:
    for lang in ("sh", "python", "yaml", "console"):
        assert blocks(lang), lang


def _pages_with(lang: str) -> list[Path]:
    return sorted({b.page for b in blocks(lang)})


def _page_id(page: Path) -> str:
    return str(page.relative_to(REPO))


DOCS_PASSWORD = "docs-password-long-enough\n"


@pytest.mark.parametrize("page", _pages_with("sh"), ids=_page_id)
def test_shell_commands_in_the_docs_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's sh blocks run in order, in one scratch folder (a tutorial builds on itself)."""
    monkeypatch.chdir(_scratch(tmp_path))
    for block in (b for b in blocks("sh") if b.page == page):
        ran = 0
        for raw in block.text.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith(("make ", ". .venv", "#")):
                continue
            words = shlex.split(line)
            if words[:2] == ["cp", "-r"]:
                shutil.copytree(words[2], words[3], symlinks=False)
                ran += 1
                continue
            assert words[0] == "abroad", f"{block.id}: unknown command {line!r}"
            if words[1] in ("serve", "demo-live"):  # run until stopped: checked, not run
                words = [*words, "--help"]
            # A command that asks for a password (users add) gets one, twice (confirmation).
            result = CliRunner().invoke(app, words[1:], input=DOCS_PASSWORD * 2)
            assert result.exit_code == 0, f"{block.id}: {line}\n{result.output}"
            ran += 1
        assert ran or "make " in block.text, f"{block.id}: nothing ran"


@pytest.mark.parametrize("block", blocks("python"), ids=lambda b: b.id)
def test_python_in_the_docs_runs(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    exec(compile(block.text, block.id, "exec"), {"__name__": "__docs__"})


def _replace_section(scenario_yaml: str, section: str) -> str:
    key = section.split(":", 1)[0].strip()
    pattern = re.compile(rf"^{re.escape(key)}:.*?(?=^\S|\Z)", re.M | re.S)
    assert pattern.search(scenario_yaml), f"no {key}: section in the example"
    return pattern.sub(lambda _m: section.rstrip("\n") + "\n", scenario_yaml, count=1)


@pytest.mark.parametrize("block", blocks("yaml"), ids=lambda b: b.id)
def test_yaml_examples_in_the_docs_load(block: Block, tmp_path: Path) -> None:
    from abroad.io.scenario import list_variants, load_scenario, validate_scenario
    from abroad.io.station_spec import load_station_spec

    name = block.page.name
    if "file=" in block.info:
        return  # written by the golden-output test of its page
    if name == "station-spec.md":
        path = tmp_path / "spec.yaml"
        path.write_text(block.text, encoding="utf-8")
        assert load_station_spec(path).stages
        return
    if block.info.split()[1:2] == ["grid"]:  # a sweep grid
        from abroad.io.yamlio import parse_yaml_text
        from abroad.sweep.grid import parse_grid

        variants = tuple(v.name for v in list_variants(EXAMPLE))
        assert parse_grid(parse_yaml_text(block.text, block.id), block.id, variants).points()
        return
    folder = tmp_path / "scenario"
    shutil.copytree(EXAMPLE, folder)
    if block.info.split()[1:2] == ["itinerary"]:  # a tours itinerary, for --compare
        from abroad.io.tours import read_itinerary

        tours = load_scenario(folder).tours
        assert tours is not None
        path = folder / "itinerary.yaml"
        path.write_text(block.text, encoding="utf-8")
        assert read_itinerary(path, tours, tours.spec.teams)[2]
        return
    assert name in ("scenario-format.md", "demand.md"), f"{block.id}: yaml of unknown kind"
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    (folder / "scenario.yaml").write_text(_replace_section(text, block.text), encoding="utf-8")
    assert validate_scenario(folder) == []
    load_scenario(folder)


@pytest.mark.parametrize("page", _pages_with("console"), ids=_page_id)
def test_golden_output_in_the_docs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(_scratch(tmp_path))
    text = page.read_text(encoding="utf-8")
    for m in FENCE.finditer(text):
        info, body = m[1].strip(), m[2]
        if "file=" in info:
            name = info.split("file=", 1)[1].split()[0]
            Path(name).write_text(body, encoding="utf-8")
        elif info == "console":
            command, *expected = body.splitlines()
            assert command.startswith("$ abroad "), command
            words = shlex.split(command[2:])
            result = CliRunner().invoke(app, words[1:])
            got = (result.stdout + result.stderr).rstrip("\n").splitlines()
            assert got == expected, f"{page.name}: {command}"


def test_docstring_examples_run() -> None:
    src = REPO / "src"
    tried = 0
    for path in sorted((src / "abroad").rglob("*.py")):
        if ">>>" not in path.read_text(encoding="utf-8"):
            continue
        module = importlib.import_module(
            ".".join(path.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
        )
        failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failed == 0, module.__name__
        tried += attempted
    assert tried > 0


def test_every_package_data_pattern_matches_a_file() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["abroad"]
    for pattern in patterns:
        assert list((REPO / "src" / "abroad").glob(pattern)), f"package-data {pattern!r}: no file"


def test_make_targets_name_files_that_exist() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for script in re.findall(r"\$\(PY\) ((?:benchmarks|tools)/\S+\.py)", makefile):
        assert (REPO / script).is_file(), f"Makefile runs {script}, which does not exist"
    assert "benchmarks/" in makefile
