"""The docs' transcripts are the real CLI's output (regenerate: python docs/transcripts.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("transcripts", ROOT / "docs" / "transcripts.py")
transcripts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(transcripts)

CASES = [(doc.name, cmd, expected)
         for doc in transcripts.documents()
         for block in transcripts.BLOCK.findall(doc.read_text(encoding="utf-8"))
         for cmd, expected in transcripts.commands(block)]


def test_docs_have_transcripts():
    assert len(CASES) >= 8
    assert {"README.md", "guide.md", "authoring.md"} <= {doc for doc, _, _ in CASES}


@pytest.mark.parametrize("doc, command, expected", CASES, ids=[f"{d}: {c}" for d, c, _ in CASES])
def test_transcript_matches_the_real_output(tmp_path, doc, command, expected):
    assert transcripts.run(command, str(tmp_path)) == expected


def test_shipped_schema_files_match_tutor_schema():
    from tutor.bank.schema import json_schema

    for path in (ROOT / "docs" / "tutor-schema.json", ROOT / "examples" / "tutor-schema.json"):
        assert json.loads(path.read_text(encoding="utf-8")) == json_schema(), path
