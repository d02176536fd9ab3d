"""How fairly the free-text grader judges: labelled answers in, two shares out.

    python benchmarks/grading.py [--file tests/fixtures/graded_answers.yaml] [--split dev]
                                 [--show-misses] [--json]

Each labelled answer is graded exactly as `tutor grade` would. A strong answer is
credited when it covers at least 60% of the key points and states no flagged
misconception; a wrong answer is caught when it states a flagged misconception
or covers under half of the points. Targets: >= 95% credited, >= 90% caught.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CREDIT_SCORE = 0.6
CAUGHT_SCORE = 0.5


def load_corpus(path: Path) -> list[dict]:
    """The answers of `path`, and of every file in the folder named like it without .yaml
    (tests/fixtures/graded_answers/*.yaml), where each topic's answers may live."""
    import yaml

    files = [path] + sorted(path.with_suffix("").glob("*.yaml"))
    answers: list[dict] = []
    for f in files:
        if f.exists():
            answers += yaml.safe_load(f.read_text(encoding="utf-8"))["answers"]
    return answers


def judge(bank, entry: dict) -> dict:
    from tutor.grade import grade_answer

    q, pres, graded = grade_answer(bank, entry["id"], entry["text"], [])
    score = graded.score or 0.0
    flagged = bool(graded.flags)
    if entry["label"] == "strong":
        ok = score >= CREDIT_SCORE and not flagged
    else:
        ok = flagged or score < CAUGHT_SCORE
    return {"id": entry["id"], "label": entry["label"], "split": entry.get("split", "dev"),
            "ok": ok, "score": round(score, 3), "flags": [f["claim"] for f in graded.flags],
            "covered": graded.covered, "missed": graded.missed, "text": entry["text"]}


def measure(path: Path, split: str | None = None) -> dict:
    from tutor.bank import load_bank

    bank = load_bank([], builtin=True)
    results = [judge(bank, e) for e in load_corpus(path)
               if split is None or e.get("split", "dev") == split]
    strong = [r for r in results if r["label"] == "strong"]
    wrong = [r for r in results if r["label"] == "wrong"]
    return {"strong": len(strong), "credited": sum(r["ok"] for r in strong),
            "wrong": len(wrong), "caught": sum(r["ok"] for r in wrong),
            "questions": len({r["id"] for r in results}), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=ROOT / "tests/fixtures/graded_answers.yaml")
    parser.add_argument("--split", choices=["dev", "test"], default=None)
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    m = measure(args.file, args.split)
    credited = m["credited"] / max(1, m["strong"])
    caught = m["caught"] / max(1, m["wrong"])
    if args.json:
        print(json.dumps({k: v for k, v in m.items() if k != "results"}
                         | {"credited_share": credited, "caught_share": caught}))
        return
    print(f"{m['questions']} questions, {m['strong']} strong and {m['wrong']} wrong answers"
          + (f" (split {args.split})" if args.split else ""))
    print(f"strong answers credited: {m['credited']}/{m['strong']} = {credited:.1%}"
          f"  (target >= 95%)")
    print(f"wrong answers caught:    {m['caught']}/{m['wrong']} = {caught:.1%}"
          f"  (target >= 90%)")
    if args.show_misses:
        for r in m["results"]:
            if not r["ok"]:
                print(f"\nMISS {r['label']} {r['id']} score={r['score']} flags={r['flags']}")
                print(f"  text: {r['text'][:300]}")
                print(f"  missed: {r['missed']}")


if __name__ == "__main__":
    main()
