"""Meta-tests that keep the built-in bank honest: valid, unique, covered, runnable, readable."""

from __future__ import annotations

import io
import itertools
import json
import re
import string
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

import pytest
import yaml

from tutor.bank import load_paths

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "questions"
SEEDS = yaml.safe_load((ROOT / "tests/fixtures/seed_keys.yaml").read_text(encoding="utf-8"))
TOPICS = {"complexity", "scaling", "masks", "norms", "params", "attention", "positional",
          "architecture", "efficient-attention", "inference", "systems", "tokenization",
          "training", "explain"}
TAGS = {
    "attention", "softmax", "complexity", "memory", "masks", "padding", "causal", "positional",
    "rope", "alibi", "sinusoidal", "normalization", "layernorm", "residual", "ffn",
    "activation", "params", "flops", "scaling-laws", "efficient-attention", "sparse",
    "linear-attention", "flash", "kv-cache", "decoding", "inference", "tokenization",
    "vocabulary", "training", "optimization", "regularization", "architecture", "encoder",
    "decoder", "encoder-decoder", "rnn", "history", "parallelism", "hardware",
    "context-length", "explain", "cross-attention", "heads", "gradients",
    "post-training", "rlhf", "moe", "quantization", "precision", "peft", "fine-tuning",
    "reasoning", "drill",
    "evaluation", "hallucination", "retrieval", "ssm", "multimodal", "interpretability",
    "safety", "agents", "models",
}


@pytest.fixture(scope="module")
def bank():
    return load_paths([QUESTIONS], against_builtin=False)


@pytest.fixture(scope="module")
def questions(bank):
    return list(bank.questions.values())


def test_every_file_validates(bank):
    assert [str(p) for p in bank.problems] == []


def test_one_file_per_topic_and_ids_follow_the_topic(bank, questions):
    for topic in bank.topics.values():
        assert topic.files == (str(QUESTIONS / f"{topic.name}.yaml"),)
    for q in questions:
        assert re.fullmatch(rf"{re.escape(q.topic)}/[a-z0-9]+(-[a-z0-9]+)*", q.id), q.id


def test_topics_cover_the_syllabus(bank):
    missing = TOPICS - set(bank.topics)
    assert not missing, f"topics without a file: {sorted(missing)}"


def test_size_and_mix_of_kinds(questions):
    kinds = Counter(q.kind for q in questions)
    assert len(questions) >= 150, len(questions)
    assert kinds["numeric"] >= 30 and kinds["choice"] >= 30, kinds
    assert kinds["keypoints"] >= 20 and kinds["order"] >= 2, kinds


def test_most_questions_link_a_demo_with_arguments(questions):
    linked = [q for q in questions if q.demo]
    assert len(linked) >= 0.6 * len(questions), f"{len(linked)}/{len(questions)}"
    with_args = [q for q in linked if q.demo.args]
    assert len(with_args) >= 0.5 * len(linked), "most demo links should choose arguments"


def test_asked_in_keys_exist_and_every_seed_key_is_covered(questions):
    keys = set(SEEDS["keys"])
    used = Counter(k for q in questions for k in q.asked_in)
    assert set(used) <= keys, f"unknown keys: {sorted(set(used) - keys)}"
    assert keys <= set(used), f"seed keys not covered: {sorted(keys - set(used))}"


def test_difficulty_spread_and_tag_vocabulary(questions):
    spread = Counter(q.difficulty for q in questions)
    for level in (1, 2, 3):
        assert spread[level] >= 0.1 * len(questions), spread
    unknown = {t for q in questions for t in q.tags} - TAGS
    assert not unknown, f"tags outside the vocabulary: {sorted(unknown)}"


def test_choice_options_explain_themselves(questions):
    for q in questions:
        if q.kind == "choice":
            assert any(not o.correct for o in q.options), f"{q.id}: no wrong option"
            assert all(len(o.explanation.split()) >= 3 for o in q.options), q.id


def _normalise(text: str) -> str:
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return " ".join(text.split())


def test_no_near_duplicate_prompts(questions):
    prompts = [(q.id, _normalise(q.prompt)) for q in questions]
    close = []
    for (a, pa), (b, pb) in itertools.combinations(prompts, 2):
        m = SequenceMatcher(None, pa, pb)
        if m.real_quick_ratio() > 0.85 and m.quick_ratio() > 0.85 and m.ratio() > 0.85:
            close.append((a, b, round(m.ratio(), 2)))
    assert close == []


def test_numeric_templates_fill_and_formulas_resolve_for_every_combination(questions):
    from tutor.formulas import FORMULAS, compute_answer

    for q in questions:
        if q.kind != "numeric":
            continue
        assert q.answer_from.name in FORMULAS, q.id
        choices = q.choices()
        names = list(choices)
        for combo in itertools.product(*(choices[n] for n in names)):
            values = dict(zip(names, combo, strict=True))
            fields = {**q.answer_from.args, **values}
            q.prompt.format_map(fields)
            q.answer.format_map(fields)
            result = compute_answer(q.answer_from.name, fields)
            assert result.value == result.value and result.working, (q.id, values)


def test_every_question_renders_in_60_columns(questions):
    from rich.console import Console

    from tutor.present.question import question_detail

    for q in questions:
        out = io.StringIO()
        Console(file=out, width=60, color_system=None).print(question_detail(q))
        widest = max(len(line) for line in out.getvalue().splitlines())
        assert widest <= 60, (q.id, widest)


def test_every_linked_demo_runs_with_its_arguments(questions):
    from tutor import demos
    from tutor.demos.registry import DEMOS
    from tutor.kinds.numeric import demo_arg_samples

    seen: set[str] = set()
    for q in questions:
        if not q.demo:
            continue
        # a numeric card's '{name}' values: the smallest value it can draw
        args = demo_arg_samples(q)[0] if q.kind == "numeric" else q.demo.args
        key = json.dumps([q.demo.name, args], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        info = DEMOS[q.demo.name]
        params = demos.prepare(info, args)
        result = demos.compute(info, params)
        assert result["takeaway"], q.id
        out = io.StringIO()
        from rich.console import Console

        Console(file=out, width=100, color_system=None).print(demos.render(info, result))
        assert out.getvalue().strip(), q.id
