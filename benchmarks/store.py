"""How fast `tutor stats` and the quiz's first prompt are on a heavy user's store.

Builds a store with 5,000 cards and 100,000 reviews in a temporary TUTOR_HOME
(one transaction), then times, as subprocesses, interleaved round-robin after a
warm-up, with the median of the repeats:

- `tutor --version` (start-up), `tutor stats` and `tutor stats --json`:
  target, stats at most 300 ms beyond start-up;
- `tutor quiz` with stdin `q` (start to first prompt, then exit) against
  `tutor list` (start-up plus loading the bank).

The cards belong to the built-in bank's topics: every built-in question has one,
and the rest are questions no longer in the bank, which keep their history and
still go through the store's queries.

    python benchmarks/store.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_CARDS = 5_000
N_REVIEWS = 100_000


def build_store(home: Path, now: datetime, seed: int = 0) -> tuple[int, int]:
    from fsrs import Card, State

    from tutor.bank import load_bank
    from tutor.scheduling import card_id_for
    from tutor.store import Store

    rng = random.Random(seed)
    bank = load_bank()
    topics = sorted({q.topic for q in bank.questions.values()}) or ["bench"]
    ids = list(bank.questions)[:N_CARDS]
    ids += [f"{topics[i % len(topics)]}/bench-{i:05d}" for i in range(N_CARDS - len(ids))]
    cards, reviews = [], []
    for qid in ids:
        last = now - timedelta(days=rng.uniform(0, 60))
        stability = rng.lognormvariate(2.0, 1.2)
        due = last + timedelta(days=max(1.0, stability * rng.uniform(0.5, 1.5)))
        card = Card(card_id=card_id_for(qid), state=State.Review, stability=stability,
                    difficulty=rng.uniform(1, 10), due=due, last_review=last)
        cards.append((qid, qid.split("/")[0], card.to_json(), 2, due.isoformat(), stability,
                      card.difficulty, last.isoformat(), 20, rng.randint(0, 4),
                      (last - timedelta(days=300)).isoformat()))
    per_card = N_REVIEWS // len(ids)
    for qid in ids:
        topic = qid.split("/")[0]
        for j in range(per_card):
            at = now - timedelta(days=rng.uniform(0, 365))
            rating = rng.choices((1, 2, 3, 4), (10, 15, 60, 15))[0]
            reviews.append((qid, topic, "recall", rating, "answer", None, None,
                            rng.randint(2_000, 40_000), at.isoformat(), None,
                            int(rng.random() < 0.05), None if j == 0 else 2))
    with Store(home / "progress.db") as store, store.transaction() as db:
        db.executemany("INSERT INTO cards (question_id, topic, card_json, state, due, stability, "
                       "difficulty, last_review, reps, lapses, created) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", cards)
        db.executemany("INSERT INTO reviews (question_id, topic, kind, rating, answer, correct, "
                       "vals, elapsed_ms, reviewed_at, session_id, cram, state_before) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", reviews)
    return len(cards), len(reviews)


def time_command(args: list[str], env: dict, stdin: str | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tutor", *args], input=stdin, env=env,
                            cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"tutor {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        t0 = time.perf_counter()
        n_cards, n_reviews = build_store(home, now)
        size = (home / "progress.db").stat().st_size / 2**20
        print(f"built a store with {n_cards:,} cards and {n_reviews:,} reviews in "
              f"{time.perf_counter() - t0:.1f} s ({size:.1f} MiB)")
        env = {**os.environ, "TUTOR_HOME": str(home), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        env.pop("TUTOR_BANK", None)
        commands = {
            "tutor --version": (["--version"], None),
            "tutor stats": (["stats"], None),
            "tutor stats --json": (["stats", "--json"], None),
            "tutor list": (["list"], None),
            "tutor quiz (to first prompt)": (["quiz"], "q\n"),
        }
        for argv, stdin in commands.values():  # warm-up: page cache, first compilations
            time_command(argv, env, stdin)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, (argv, stdin) in commands.items():
                times[name].append(time_command(argv, env, stdin))
    med = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
    print(f"\nmedian of {args.repeats} interleaved runs (ms):")
    for name, ms in med.items():
        spread = (max(times[name]) - min(times[name])) * 1000
        print(f"  {name:30s} {ms:7.0f}   (spread {spread:.0f})")
    start_up = med["tutor --version"]
    for name in ("tutor stats", "tutor stats --json"):
        work = med[name] - start_up
        verdict = "meets" if work <= 300 else "MISSES"
        print(f"{name} beyond start-up: {work:.0f} ms ({verdict} the 300 ms target); "
              f"beyond `tutor list` (start-up and the bank): "
              f"{med[name] - med['tutor list']:.0f} ms")
    extra = med["tutor quiz (to first prompt)"] - med["tutor list"]
    print(f"tutor quiz to its first prompt: {med['tutor quiz (to first prompt)']:.0f} ms, "
          f"{extra:+.0f} ms against tutor list "
          f"(x{med['tutor quiz (to first prompt)'] / med['tutor list']:.2f})")


if __name__ == "__main__":
    main()
