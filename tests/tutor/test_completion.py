"""Shell completion offers topics, demo names and question ids (through the real program)."""

import os
import subprocess
import sys

from tutor.bank import load_bank
from tutor.demos.registry import DEMOS


def complete(words: str) -> list[str]:
    env = {**os.environ, "_TUTOR_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    r = subprocess.run([sys.executable, "-m", "tutor"], env=env, capture_output=True,
                       text=True, check=True)
    return r.stdout.split()


def test_question_ids_complete():
    ids = sorted(q for q in load_bank().questions if q.startswith("masks/"))
    assert complete("tutor show masks/") == ids and ids


def test_topics_complete():
    topics = sorted(t for t in load_bank().topics if t.startswith("p"))
    assert complete("tutor list --topic p") == topics and topics


def test_demo_names_and_aliases_complete():
    expected = sorted({n for n in DEMOS if n.startswith("k")}
                      | {a for d in DEMOS.values() for a in d.aliases if a.startswith("k")})
    assert complete("tutor demo k") == expected and "kv-cache" in expected
