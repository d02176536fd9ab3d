"""The docs' transcripts are the real CLI's output (regenerate: python docs/transcripts.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("transcripts", ROOT / "docs" / "transcripts.py")
transcripts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(transcripts)

DOCS = transcripts.documents()


def test_docs_have_transcripts():
    counts = {doc.name: sum(len(transcripts.commands(b)) for b in
                            transcripts.BLOCK.findall(doc.read_text(encoding="utf-8")))
              for doc in DOCS}
    assert counts["README.md"] >= 1 and counts["guide.md"] >= 6 and counts["authoring.md"] >= 2


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_transcripts_match_the_real_output(doc):
    for command, expected, actual in transcripts.check(doc):
        assert actual == expected, f"{doc.name}: `{command}` drifted; run docs/transcripts.py"


def test_shipped_schema_files_match_tutor_schema():
    from tutor.bank.schema import json_schema

    for path in (ROOT / "docs" / "tutor-schema.json", ROOT / "examples" / "tutor-schema.json"):
        assert json.loads(path.read_text(encoding="utf-8")) == json_schema(), path
