"""docs/data-model.md is generated from the schemas and must stay in step with them."""

from __future__ import annotations

from pathlib import Path

from spm_model.data.schema import TABLES, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"
REGENERATE = (
    '.venv/bin/python -c "from spm_model.data.schema import render_markdown; '
    "open('docs/data-model.md', 'w').write(render_markdown().rstrip() + '\\n')\""
)


def test_committed_data_model_doc_matches_the_schema():
    assert DOC.exists(), f"docs/data-model.md is missing; create it with:\n{REGENERATE}"
    assert DOC.read_text() == render_markdown().rstrip() + "\n", (
        "docs/data-model.md is out of date with spm_model/data/schema.py; "
        f"regenerate it with:\n{REGENERATE}"
    )


def test_doc_names_every_table_and_column():
    text = DOC.read_text()
    for name, schema in TABLES.items():
        assert f"## {name}" in text
        for col in schema.columns:
            assert f"| {col.name} |" in text
