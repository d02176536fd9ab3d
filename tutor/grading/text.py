"""Free-text answers against key points: claims, paraphrase, negation and known errors.

A key point is a claim, and each accepted phrasing states it: "sinusoidal
(degrade|worse|fail) (beyond|past) (trained|training) length", not just
"sinusoidal". An answer covers a phrasing when one of its sentences holds every
part of the phrasing, in any order and close together, with the same polarity:

- words are compared by their stems (PyStemmer's English Snowball), after
  British spellings, contractions and symbols are rewritten as words
  (√ -> sqrt, n² and O(n^2) -> quadratic, "doesn't" -> "does not");
- a small table of synonyms maps words that interviews use interchangeably
  onto one word (grow/increase/rise, worse/degrade/deteriorate, ...);
- `(a|b c)` in a phrasing lists alternatives, each one or more words;
- stop words ("the", "is", "of", ...) carry no meaning, but negators do: a
  phrasing matches only when the answer negates it exactly as often as the
  phrasing does ("not", "never", "no longer", "without", "cannot", "-n't").

A phrasing listed under `rejects` is a wrong claim: an answer that states it is
flagged with the correction, and the key point it belongs to is not covered.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# --- normalising text into tokens ------------------------------------------------------------

_SYMBOLS = {
    "²": " squared ", "³": " cubed ", "√": " sqrt ", "×": " times ", "≈": " approximately ",
    "∼": " approximately ", "→": " to ", "⇒": " so ", "≤": " at most ", "≥": " at least ",
    "≠": " not equal ", "−": "-", "–": " - ", "—": " - ", "½": " half ", "¼": " quarter ",
    "∝": " proportional to ", "∞": " infinity ", "·": " times ", "’": "'", "‘": "'",
    "“": '"', "”": '"', "θ": " theta ", "σ": " sigma ", "π": " pi ", "α": " alpha ",
    "β": " beta ", "λ": " lambda ", "ε": " epsilon ", "Δ": " delta ",
}
_NORM = r"(?:layer\s*norm|layernorm|rms\s*norm|rmsnorm|ln|norm)"
_SUBLAYER = r"(?:f|g|sub-?layer|attn|attention|ffn|mlp|block)"
_FUNCTION = (r"(sqrt|exp|log|ln|softmax|relu|gelu|silu|swish|tanh|sin|cos|pe|phi|sigmoid|max|min"
             r"|argmax|mean|var|attention|layernorm|rmsnorm)")
_MATH = [
    # order matters: the most specific forms first
    (r"\bo\s*\(\s*n\s*(?:\^|\*\*)\s*2\s*\)|\bo\s*\(\s*n\s*squared\s*\)|\bo\s*\(\s*n\s*2\s*\)"
     r"|\bn\s*(?:\^|\*\*)\s*2\b|\bn\s*squared\b|\bn\s*\*\s*n\b|\bsquared\s+in\s+n\b",
     " quadratic "),
    (r"\bo\s*\(\s*n\s*log\s*n\s*\)", " nlogn "),
    (r"\bo\s*\(\s*n\s*\)", " linear "),
    (r"\bo\s*\(\s*1\s*\)", " constant "),
    # any other big-O: its brackets do not end the clause, O(n^2 d) -> "quadratic d"
    (r"\b(?:o|theta|θ)\s*\(\s*([^()]{1,40}?)\s*\)", r" \1 "),
    (r"\bsquare\s+root\b", " sqrt "),
    (r"\bone[\s-]hot\b", " onehot "),
    (r"(\d)\s*(?:x|times)\b", r"\1x"),
    (r"\btwice\b|\bdoubles?\b|\bdoubled\b", " 2x "),
    (r"\btriples?\b|\btripled\b", " 3x "),
    (r"\bhalf\b|\bhalve[sd]?\b", " half "),
    (r"\bkv\b|\bk\s*/\s*v\b|\bkey[\s/-]*value\b|\bkeys?\s+and\s+values?\b", " kv "),
    # comparison signs, e.g. "T < 1 sharpens": below and above, not dropped as punctuation
    (r"<=", " at most "), (r">=", " at least "),
    (r"(?<![<>=-])<(?![<>=-])", " below "), (r"(?<![<>=-])>(?![<>=])", " above "),
    # "non-linear" is one word, not "linear" with a stray "non"
    (r"\bnon[\s-]+(?=[a-z])", "non"),
    # norm placement and residual formulas, before the brackets split them into clauses
    (rf"\b{_NORM}\s*\(\s*x\s*\+\s*{_SUBLAYER}\s*\(\s*x\s*\)\s*\)",
     " norm after residual addition "),
    (rf"\bx\s*\+\s*{_SUBLAYER}\s*\(\s*{_NORM}\s*\(\s*x\s*\)\s*\)", " norm before sublayer "),
    (rf"\bx\s*\+\s*{_SUBLAYER}\s*\(\s*x\s*\)", " x plus fx "),
    # a comparison names a winner: "a is better than b" is not "better with b"
    (r"\b(?:better|superior)\s+than\b|\boutperform(?:s|ed|ing)?\b", " outperform "),
    # "q . k" and "q_i.k_j" are dot products, not full stops
    (r"\b([qkvxyw](?:_?[a-z0-9])?)\s*\.\s*([qkvxyw](?:_?[a-z0-9])?)\b", r" \1 dot \2 "),
    # a maths function's brackets do not end the clause: sqrt(d_k) -> "sqrt d_k"; listed
    # twice so one level of nesting opens too, softmax(q k^t / sqrt(d_k))
    (rf"\b{_FUNCTION}\s*\(\s*([^()]{{1,40}}?)\s*\)", r" \1 \2 "),
    (rf"\b{_FUNCTION}\s*\(\s*([^()]{{1,40}}?)\s*\)", r" \1 \2 "),
]
_CONTRACTIONS = [
    (r"\bcan't\b|\bcannot\b", "can not"), (r"\bwon't\b", "will not"),
    (r"\bshan't\b", "shall not"), (r"n't\b", " not"), (r"'re\b", " are"), (r"'s\b", ""),
    (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'d\b", " would"),
]
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9", "ten": "10", "twelve": "12",
                 "sixteen": "16", "hundred": "100", "thousand": "1000", "single": "1"}

# negators, and how many following words each one negates
NEGATORS = {"not": 3, "no": 3, "never": 3, "neither": 4, "nor": 3, "without": 3, "none": 3,
            "nothing": 3, "nobody": 3, "lack": 3, "lacks": 3, "lacking": 3, "rather": 3,
            "instead": 3, "unlike": 3}
_MULTI_NEGATORS = [(r"\bno\s+longer\b", " not "), (r"\brather\s+than\b", " rather "),
                   (r"\binstead\s+of\b", " instead "), (r"\bfar\s+from\b", " not "),
                   (r"\bfail(?:s|ed|ing)?\s+to\b", " not ")]
# a negator's reach ends at a clause boundary
_CLAUSE_BREAK = {",", ":", "but", "whereas", "while", "although", "though", "however",
                 "yet", "so", "because", "since", "which", "whereby"}

_STOP_TEXT = """
a an the is are was were be been being am do does did doing has have had having of to in on
at by for with from as that this these those it its it's they them their there here then than
and or if also just very really quite much many more most some any can could would should will
shall may might must into onto over under about after before between through during per each
every such so too via both either own same other another we you your our i me my he she his her
one ones which what who whom whose when where why how all only also thing things way ways
because still even like often usually typically generally basically simply
actually
"""
STOP_WORDS = frozenset(_STOP_TEXT.split()) - {
    "all", "same", "own", "only", "more", "most", "less", "over", "under", "before", "after",
    "between", "both", "other", "one"}
# function words that still matter to a claim are kept above: comparison and scope words

_SYNONYMS = [
    # each group is replaced by its first word (compared after stemming)
    "increase grow rise raise climb blow explode inflate balloon",
    "decrease shrink drop fall reduce decline diminish lessen",
    "degrade deteriorate worsen worse poorly bad badly collapse",
    "large big huge high great larger bigger higher greater massive",
    "small tiny low little smaller lower fewer less minor",
    "fast quick quickly rapid rapidly faster quicker speedy",
    "slow slowly slower sluggish",
    "same identical equal equivalent unchanged match",
    "different distinct separate independent unique diverse various",
    "prevent avoid stop forbid prohibit",
    "allow let permit enable",
    "stable stability steady",
    "unstable instability diverge divergence",
    "saturate saturation onehot peaked peaky spiky sharp sharper sharpen sharpens",
    "flatten flat flatter flattens uniform",
    "corrupt contaminate pollute skew distort",
    "learn train fit",
    "memory ram vram hbm",
    "cost expense expensive costly price",
    "cheap cheaper inexpensive",
    "sequence context",
    "vanish vanishing disappear",
    "extrapolate extrapolation generalize generalization generalise",
    "compute computation arithmetic flop flops",
    "parameter param params",
    "gradient grad gradients",
    "future later subsequent upcoming next",
    "past earlier previous preceding prior",
    "attend look see",
    "quadratic quadratically",
    "linear linearly",
    "normalize normalise normalization normalisation rescale",
    "mean average",
    "variance spread",
    "error mistake",
    "output result",
    "correct right accurate",
    "wrong incorrect inaccurate",
    "improve help boost",
    "hurt harm damage",
    "reuse reuses reused share shared sharing",
    "capture represent encode",
    "position positional location order",
    "length long longer",
]
_BRITISH = re.compile(r"\b(\w{4,}?)is(e|es|ed|ing|ation|ations|er|ers)\b")


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=1)
def _synonym_map() -> dict[str, str]:
    stem = _stemmer().stemWord
    out: dict[str, str] = {}
    for group in _SYNONYMS:
        words = group.split()
        head = stem(words[0])
        for w in words:
            out.setdefault(stem(w), head)
    return out


@functools.lru_cache(maxsize=20_000)
def canonical(word: str) -> str:
    """One word -> the stem it is compared by (synonyms folded together)."""
    word = _NUMBER_WORDS.get(word, word)
    s = _stemmer().stemWord(word)
    return _synonym_map().get(s, s)


def _rewrite(text: str) -> str:
    t = text.lower()
    for sym, repl in _SYMBOLS.items():
        t = t.replace(sym, repl)
    for pattern, repl in _CONTRACTIONS:
        t = re.sub(pattern, repl, t)
    for pattern, repl in _MULTI_NEGATORS:
        t = re.sub(pattern, repl, t)
    for pattern, repl in _MATH:
        t = re.sub(pattern, repl, t)
    t = _BRITISH.sub(lambda m: f"{m[1]}iz{m[2]}", t)
    return t


@dataclass(frozen=True)
class Token:
    word: str        # canonical stem
    negated: int     # how many negators reach this word


def sentences(text: str) -> list[list[Token]]:
    """Text -> sentences of content tokens, each marked with the negators that reach it."""
    t = _rewrite(text)
    out: list[list[Token]] = []
    # a sentence ends at . ! ? ; a list item or a blank line, and at a contrast ("but",
    # "whereas", "however", "although"), so the two sides of a contrast are not mixed;
    # brackets are asides within the sentence
    for raw in re.split(r"(?<!\d)[.!?;]+(?!\d)|\n\s*[-*•]|\n{2,}"
                        r"|\b(?:but|whereas|however|although|though)\b", t):
        raw = raw.replace("(", " ").replace(")", " ")
        words = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?|,|:", raw.replace("_", "").replace("-", " "))
        tokens: list[Token] = []
        reach: list[int] = []  # remaining reach of each open negator
        for w in words:
            if w in _CLAUSE_BREAK or w in (",", ":"):
                reach = []
                continue
            if w in NEGATORS:
                reach = [r - 1 for r in reach if r > 1]
                reach.append(NEGATORS[w])
                continue
            if w in STOP_WORDS:
                reach = [r - 1 for r in reach if r > 1]
                continue
            tokens.append(Token(canonical(w), len(reach)))
            reach = [r - 1 for r in reach if r > 1]
        if tokens:
            out.append(tokens)
    return out


# --- phrasings -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Phrasing:
    """A compiled phrasing: slots of alternatives (each a word sequence) and its polarity."""

    text: str
    slots: tuple[tuple[tuple[str, ...], ...], ...]
    negated: bool
    strict: tuple[bool, ...] = ()   # per slot: its words must be adjacent (a preposition + word)


@functools.lru_cache(maxsize=10_000)
def compile_phrasing(text: str) -> Phrasing:
    """'sinusoidal (degrade|fail) beyond trained length' -> slots; '(a|b c)' alternatives."""
    slots: list[tuple[tuple[str, ...], ...]] = []
    negations = 0
    for part in re.findall(r"\([^()]*\)|[^\s()]+", text):
        if part.startswith("("):
            alternatives = []
            for alt in part[1:-1].split("|"):
                words = tuple(tok.word for sent in sentences(alt) for tok in sent)
                if words:
                    alternatives.append(words)
            if alternatives:
                slots.append(tuple(alternatives))
            continue
        for sent in sentences(part):
            for tok in sent:
                slots.append(((tok.word,),))
        rewritten = _rewrite(part)
        negations += sum(1 for w in re.findall(r"[a-z]+", rewritten) if w in NEGATORS)
    bound, strict = _bind_prepositions(slots)
    return Phrasing(text, bound, negations % 2 == 1, strict)


# a preposition binds to the word after it: "(over|across) batch" must be said together
PREPOSITIONS = frozenset({"over", "across", "under", "before", "after", "between", "per",
                          "within", "beyond", "past", "along", "toward", "towards"})


def _bind_prepositions(slots: list) -> tuple[tuple, tuple[bool, ...]]:
    out: list = []
    strict: list[bool] = []
    i = 0
    while i < len(slots):
        slot = slots[i]
        is_prep = all(len(alt) == 1 and alt[0] in PREPOSITIONS for alt in slot)
        if is_prep and i + 1 < len(slots):
            nxt = slots[i + 1]
            out.append(tuple(a + b for a in slot for b in nxt))
            strict.append(True)
            i += 2
            continue
        out.append(slot)
        strict.append(False)
        i += 1
    return tuple(out), tuple(strict)


@dataclass(frozen=True)
class Hit:
    phrasing: str
    sentence: int
    negated: bool


def _occurrences(sentence: Sequence[Token], alt: tuple[str, ...],
                 gap: int = 1) -> list[tuple[int, int, int]]:
    """(start, end, negations) of each place the word sequence occurs (`gap` words may
    come between two of its words)."""
    out = []
    words = [t.word for t in sentence]
    for i, w in enumerate(words):
        if w != alt[0]:
            continue
        j, ok, end = i, True, i
        for nxt in alt[1:]:
            if j + 1 < len(words) and words[j + 1] == nxt:
                j += 1
            elif gap and j + 2 < len(words) and words[j + 2] == nxt:
                j += 2
            else:
                ok = False
                break
        end = j
        if ok:
            neg = max(t.negated for t in sentence[i:end + 1])
            out.append((i, end, neg))
    return out


def find(phrasing: Phrasing, sents: list[list[Token]]) -> Hit | None:
    """The first sentence that states the phrasing (all slots, close together)."""
    if not phrasing.slots:
        return None
    max_span = 3 * len(phrasing.slots) + 4
    for si, sent in enumerate(sents):
        events = []
        for k, slot in enumerate(phrasing.slots):
            gap = 0 if phrasing.strict and phrasing.strict[k] else 1
            places = [p for alt in slot for p in _occurrences(sent, alt, gap)]
            if not places:
                break
            events += [(start, end, k, neg) for start, end, neg in places]
        else:
            negations = _tightest(events, len(phrasing.slots), max_span)
            if negations is not None and (negations % 2 == 1) == phrasing.negated:
                return Hit(phrasing.text, si, phrasing.negated)
    return None


def _tightest(events: list[tuple[int, int, int, int]], n_slots: int,
              max_span: int) -> int | None:
    """The negation count of the smallest window holding one place of every slot.

    A sweep over the places sorted by position (the smallest-window-covering-all-kinds
    problem), so its cost is linear in the places found.
    """
    events.sort()
    last: dict[int, tuple[int, int, int, int]] = {}
    best: tuple[int, int] | None = None
    for event in events:
        last[event[2]] = event
        if len(last) < n_slots:
            continue
        lo = min(e[0] for e in last.values())
        hi = max(e[1] for e in last.values())
        if hi - lo <= max_span and (best is None or hi - lo < best[0]):
            best = (hi - lo, max(e[3] for e in last.values()))
    return None if best is None else best[1]


# --- key points ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Flag:
    """A wrong claim the answer states, with its correction."""

    claim: str
    correction: str
    point: str | None = None   # the key point it belongs to, if any


@dataclass(frozen=True)
class KeypointResult:
    covered: list[str]
    missed: list[str]
    flags: list[Flag] = field(default_factory=list)

    @property
    def score(self) -> float:
        total = len(self.covered) + len(self.missed)
        return len(self.covered) / total if total else 0.0


def states(answer: str | list[list[Token]], phrasings: Iterable[str]) -> bool:
    sents = sentences(answer) if isinstance(answer, str) else answer
    return any(find(compile_phrasing(p), sents) is not None for p in phrasings)


def match_keypoints(answer: str, points, rejects=()) -> KeypointResult:
    """Which key points an answer covers, and which wrong claims it states.

    `points` are KeyPoint models (`.point`, `.phrasings`, `.rejects`); `rejects` are
    the question's own Reject models (`.claim`, `.phrasings`, `.correction`).
    """
    sents = sentences(answer)
    covered, missed, flags = [], [], []
    for r in rejects:
        if states(sents, r.phrasings):
            flags.append(Flag(r.claim, r.correction))
    for kp in points:
        point_flags = [Flag(r.claim, r.correction or kp.point, kp.point)
                       for r in getattr(kp, "rejects", ()) if states(sents, r.phrasings)]
        flags += point_flags
        hit = not point_flags and states(sents, kp.phrasings)
        (covered if hit else missed).append(kp.point)
    return KeypointResult(covered, missed, flags)
