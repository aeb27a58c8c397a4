"""What a new user reads first, per context: the README's start commands take
every step the bake needs, a reference to a section leads to one that
exists, and the everyday questions (reading a setting, changing one for a
test, SQLite's foreign keys, date-times) are answered where they are asked."""

from __future__ import annotations

import re
from pathlib import Path

from contexts import answer
from helpers import TEMPLATE_DIR

# "docs/serving.md, Bad requests" (or "[docs/serving.md](...), Bad requests"),
# and "(see Template updates)" within one file.
FILE_SECTION = re.compile(r"docs/(\w+)\.md(?:\]\([^)]*\))?, ([A-Z][^,;)]*)")
SAME_FILE_SECTION = re.compile(r"\(see ([A-Z][^)\[]*)\)")


def sections(text: str) -> set[str]:
    """A document's headings and bold paragraph leads (`**Probes.**`), each
    also without a closing parenthesis ("Template updates (cruft)")."""
    headings = re.findall(r"^#+ (.+?)\s*$", text, re.MULTILINE)
    leads = re.findall(r"^\*\*(.+?)\.\*\*", text, re.MULTILINE)
    names = {name.strip() for name in (*headings, *leads)}
    return names | {name.split(" (", 1)[0] for name in names}


def flat(path: Path) -> str:
    return " ".join(path.read_text(encoding="utf-8").split())


def test_every_section_a_document_names_exists(project: Path) -> None:
    documents = [project / "README.md", *sorted((project / "docs").glob("*.md"))]
    for document in documents:
        text = flat(document)
        for name, section in FILE_SECTION.findall(text):
            target = project / "docs" / f"{name}.md"
            assert target.exists(), f"{document.name} names {target.name}"
            known = sections(target.read_text(encoding="utf-8"))
            assert section.strip() in known, f"{document.name}: {name}.md, {section}"
        for section in SAME_FILE_SECTION.findall(text):
            known = sections(document.read_text(encoding="utf-8"))
            assert section.strip() in known, f"{document.name}: (see {section})"


def readme_section(project: Path, heading: str) -> str:
    text = (project / "README.md").read_text(encoding="utf-8")
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_shows_how_to_read_a_setting_and_change_it_for_a_test(
    project: Path,
) -> None:
    settings = readme_section(project, "Settings")

    assert "### Add a setting" in settings
    assert "current_settings()." in settings
    assert "@pytest.mark.settings(" in settings


def test_readme_tells_the_database_rules_a_user_meets(
    project: Path, context: str
) -> None:
    database = answer(context, "database")
    text = (project / "README.md").read_text(encoding="utf-8")
    if database == "none":
        assert "## The database" not in text
        assert "make migrate" not in text
        return
    section = readme_section(project, "The database")
    assert "RFC 3339" in section
    assert "rev_0003_what_changed.py" in section
    assert ("foreign_keys = ON" in section) is (database == "sqlite")


def test_the_template_readme_starts_a_service_with_its_migrations() -> None:
    text = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")
    start = text.split("## Using the template", 1)[1].split("```sh", 1)[1]
    commands = start.split("```", 1)[0]

    assert "make install && make migrate && make run" in commands
