"""What the comparisons with llama.cpp (llama-cpp-python on the same GGUF) share: reference and
matrixserve logits and how far they agree; for the real models also texts, teacher-forced
agreement with llama.cpp's own variants as the yardstick, greedy runs and perplexity.

Nothing here expects our floats to equal llama.cpp's: both sum in an order that depends on the
CPU (docs/engine.md, "Numerics"), and under 8-bit activations one rounding step that falls the
other way moves later logits. So every comparison is measured against llama.cpp's own spread
on this CPU, in this run (a `Yardstick`): its numerically equivalent variants against its plain
run. Tokens are compared up to a near tie (`check_tokens`): where our token differs from
llama.cpp's, llama.cpp must rank it within the yardstick's near-tie band of its best."""
import dataclasses
import json
import subprocess
import tempfile

import llama_cpp  # installed by scripts/setup.sh: a missing reference fails, it is not skipped
import numpy as np
from conftest import run_json

# Prose, code and arithmetic; each test file adds a conversation in its model's chat format.
PROSE_AND_CODE = [
    "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg "
    "combined a screw press with movable metal type. Before that, books were copied by hand in "
    "monasteries, which made them rare and expensive. Within fifty years, presses had spread to "
    "more than two hundred cities across Europe, and millions of books were in circulation. The "
    "change affected religion, science and politics, because ideas could now travel faster than "
    "any authority could control them. Historians still argue about how much credit the press "
    "deserves for the Reformation and the scientific revolution.",
    "def merge_sorted(a, b):\n    \"\"\"Merge two sorted lists into one sorted list.\"\"\"\n"
    "    result = []\n    i = j = 0\n    while i < len(a) and j < len(b):\n"
    "        if a[i] <= b[j]:\n            result.append(a[i])\n            i += 1\n"
    "        else:\n            result.append(b[j])\n            j += 1\n"
    "    result.extend(a[i:])\n    result.extend(b[j:])\n    return result\n\n\n"
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
    "    def push(self, item):\n        self.items.append(item)\n",
    "Recipe for a simple loaf of bread: mix 500 grams of flour, 10 grams of salt, 7 grams of dry "
    "yeast and 350 milliliters of warm water. Knead the dough for ten minutes until it is smooth "
    "and elastic. Let it rise in a covered bowl for about one hour, or until it has doubled in "
    "size. Shape it into a loaf, place it in a greased tin and let it rise again for 45 minutes. "
    "Bake at 220 degrees Celsius for 30 to 35 minutes. The loaf is done when it sounds hollow "
    "when tapped on the bottom. Let it cool before slicing.",
    "Q: What is 17 times 23?\nA: 17 times 23 is 391.\nQ: What is the square root of 144?\nA: The "
    "square root of 144 is 12.\nQ: If a train travels 60 kilometers per hour for 2.5 hours, how "
    "far does it go?\nA: It travels 150 kilometers.\nQ: What is the largest planet in the solar "
    "system?\nA: Jupiter is the largest planet in the solar system.\nQ: How many continents are "
    "there?\nA: There are seven continents: Africa, Antarctica, Asia, Australia, Europe, North "
    "America and South America.",
]
N_POSITIONS = 128


def texts_with_chat(chat: str) -> list[str]:
    return PROSE_AND_CODE[:2] + [chat] + PROSE_AND_CODE[2:]


def load_reference(model_path, n_ctx=512, flash_attn=False, kv_type=llama_cpp.GGML_TYPE_F32):
    """llama.cpp on the CPU, keeping the logits of every position (F32 KV cache by default)."""
    return llama_cpp.Llama(model_path=str(model_path), n_ctx=n_ctx, n_batch=n_ctx, n_threads=2,
                           logits_all=True, type_k=kv_type, type_v=kv_type, flash_attn=flash_attn,
                           verbose=False)


def reference_logits(llm, tokens):
    """[len(tokens), n_vocab] float32: row i is the distribution after tokens[: i + 1]."""
    llm.reset()
    llm.eval(tokens)
    return np.array(llm.scores[: len(tokens)], dtype=np.float32)


def reference_logits_one_by_one(llm, tokens):
    """The same, fed one token per decode call: llama.cpp's batched and one-token paths round
    differently, and that spread is a fair yardstick for how closely another engine can agree."""
    llm.reset()
    for token in tokens:
        llm.eval([token])
    return np.array(llm.scores[: len(tokens)], dtype=np.float32)


def run_logits(binary, model_path, tokens, *options):
    """Runs `matrixserve logits` and returns the finished process, whatever its exit status."""
    return subprocess.run([str(binary), "logits", "-m", str(model_path), "-t", "2", *options,
                           "--tokens", ",".join(map(str, tokens))],
                          capture_output=True, text=True, timeout=600)


def our_logits(binary, model_path, tokens, *options):
    """`matrixserve logits`: ([len(tokens), n_vocab] float32, its JSON summary)."""
    with tempfile.NamedTemporaryFile(suffix=".f32") as out:
        result = run_logits(binary, model_path, tokens, *options, "-o", out.name)
        assert result.returncode == 0, f"matrixserve logits on {model_path}: {result.stderr.strip()}"
        summary = json.loads(result.stdout)
        logits = np.fromfile(out.name, dtype=np.float32).reshape(len(tokens), summary["n_vocab"])
    return logits, summary


def top1_agreement(logits_a, logits_b):
    """Over lists of [positions, n_vocab] arrays: (positions whose argmax agrees, max |diff|)."""
    agree = sum(int((a.argmax(axis=1) == b.argmax(axis=1)).sum()) for a, b in zip(logits_a, logits_b))
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(logits_a, logits_b))
    return agree, max_diff


def top1_margins(logits):
    """Per position, how far the best logit is ahead of the second: near-ties make top-1
    comparisons fragile, so tests report the smallest."""
    top_two = np.sort(logits, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]


def text_tokens(llm, text, n=None):
    """The text's tokens with BOS where the model wants one, special-token texts parsed."""
    tokens = llm.tokenize(text.encode(), add_bos=True, special=True)
    assert n is None or len(tokens) >= n, f"text gives only {len(tokens)} tokens"
    return tokens[:n]


@dataclasses.dataclass
class Agreement:
    """Teacher-forced top-1 agreement with llama.cpp's logits over `total` positions."""
    total: int
    agree: int
    max_diff: float  # largest |logit difference|
    # Largest amount by which llama.cpp's logit of the token picked falls short of llama.cpp's
    # best: 0 when they agree, small when a disagreement is a near-tie.
    max_shortfall: float

    def describe(self) -> str:
        return (f"{self.agree}/{self.total} = {self.agree / self.total:.2%} (max |logit diff| "
                f"{self.max_diff:.3f}, picks at most {self.max_shortfall:.3f} below llama.cpp's best)")


def agreement(ours: list, theirs: list) -> Agreement:
    picked = [t[np.arange(len(t)), o.argmax(axis=1)] for o, t in zip(ours, theirs)]
    agree, max_diff = top1_agreement(ours, theirs)
    return Agreement(
        total=sum(len(t) for t in theirs), agree=agree, max_diff=max_diff,
        max_shortfall=max(float((t.max(axis=1) - p).max()) for t, p in zip(theirs, picked)))


# A token llama.cpp ranks this close to its best is a near tie whatever llama.cpp's own variants
# show (on a CPU where they happen to agree exactly).
NEAR_TIE_FLOOR = 1.0


@dataclasses.dataclass
class Yardstick:
    """llama.cpp against itself on this CPU, measured in this run: numerically equivalent
    variants of it (one token at a time, flash attention, an F16 KV cache) against its plain
    run. How far apart two correct implementations can be here."""
    variants: dict  # name -> Agreement

    @property
    def agree(self) -> int:
        return min(a.agree for a in self.variants.values())

    @property
    def max_diff(self) -> float:
        return max(a.max_diff for a in self.variants.values())

    @property
    def near_tie(self) -> float:
        """How far below llama.cpp's best a token may be and still be a fair pick: as far as
        any variant's picks fall, and at least NEAR_TIE_FLOOR."""
        return max(NEAR_TIE_FLOOR, *(a.max_shortfall for a in self.variants.values()))

    def describe(self) -> str:
        return "; ".join(f"{name} {a.describe()}" for name, a in self.variants.items())


def yardstick(model_path, sequences, theirs, n_ctx=512, one_by_one=False) -> Yardstick:
    """llama.cpp's variants on the sequences, against its plain logits `theirs` (one token at a
    time too where asked: it costs a decode call per position)."""
    variants = {}
    if one_by_one:
        plain = load_reference(model_path, n_ctx=n_ctx)
        variants["one token at a time"] = agreement(
            [reference_logits_one_by_one(plain, t) for t in sequences], theirs)
    for name, llm in (("flash attention", load_reference(model_path, n_ctx=n_ctx, flash_attn=True)),
                      ("F16 KV", load_reference(model_path, n_ctx=n_ctx,
                                                kv_type=llama_cpp.GGML_TYPE_F16))):
        variants[name] = agreement([reference_logits(llm, t) for t in sequences], theirs)
    return Yardstick(variants)


def check_agreement(ours: Agreement, bar: Yardstick) -> None:
    """Teacher-forced: ours within two points of llama.cpp's worst variant, every miss a near
    tie, logits no further off than twice llama.cpp's own spread."""
    assert ours.agree >= bar.agree - 0.02 * ours.total, \
        f"top-1 {ours.describe()}; llama.cpp against itself: {bar.describe()}"
    assert ours.max_shortfall <= bar.near_tie, \
        f"a miss {ours.max_shortfall:.3f} below llama.cpp's best, near-tie band {bar.near_tie:.3f}"
    assert ours.max_diff < 2 * bar.max_diff, \
        f"max |logit diff| {ours.max_diff:.3f}, llama.cpp's own spread {bar.max_diff:.3f}"


@dataclasses.dataclass
class ReferenceRun:
    """Texts as llama.cpp's tokens, N_POSITIONS each (each text followed by the next), its
    plain logits over them, and its yardstick there."""
    sequences: list
    theirs: list
    bar: Yardstick


def reference_run(model_path, reference, texts) -> ReferenceRun:
    sequences = [text_tokens(reference, text + "\n\n" + texts[(i + 1) % len(texts)], N_POSITIONS)
                 for i, text in enumerate(texts)]
    theirs = [reference_logits(reference, tokens) for tokens in sequences]
    return ReferenceRun(sequences, theirs, yardstick(model_path, sequences, theirs))


def teacher_forced(binary, model_path, run: ReferenceRun) -> Agreement:
    """Ours against llama.cpp's plain run on the reference run's sequences."""
    return agreement([our_logits(binary, model_path, tokens)[0] for tokens in run.sequences],
                     run.theirs)


def describe_teacher_forced(model: str, n_texts: int, ours: Agreement, bar: Yardstick) -> str:
    return (f"{model} teacher-forced ({n_texts} texts x {N_POSITIONS} positions): ours vs llama.cpp "
            f"top-1 {ours.describe()}; llama.cpp against itself: {bar.describe()}")


def reference_greedy(llm, prompt_tokens, n):
    llm.reset()
    llm.eval(prompt_tokens)
    out = []
    for _ in range(n):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out.append(token)
        llm.eval([token])
    return out


@dataclasses.dataclass
class TokenComparison:
    """Our greedy tokens against llama.cpp's greedy continuation of the same prompt."""
    n: int  # tokens compared
    same: int  # how many they share before the first difference (n when all agree)
    shortfall: float  # there, how far llama.cpp ranks our token below its best (0 if none)
    first_near_tie: int | None  # where llama.cpp's top two first come within near_tie
    near_tie: float

    def describe(self) -> str:
        """Common tokens, then how far below llama.cpp's best ours is; [where llama.cpp's first
        near tie was]."""
        text = f"{self.same}" + (f" then {self.shortfall:.3f} below" if self.same < self.n else "")
        if self.first_near_tie is not None:
            text += f" [{self.first_near_tie}]"
        return text


# llama.cpp's greedy runs by (reference, prompt, n): its tokens and the logits before each, kept
# for the run of the tests (an ISA matrix compares each level's tokens with the same run).
_GREEDY: dict = {}


def reference_greedy_logits(llm, prompt, n):
    key = (id(llm), tuple(prompt), n)
    if key not in _GREEDY:
        tokens = reference_greedy(llm, prompt, n)
        rows = np.array(llm.scores[len(prompt) - 1: len(prompt) - 1 + n], dtype=np.float32)
        _GREEDY[key] = (llm, tokens, rows)  # llm kept so that its id is not reused
    return _GREEDY[key][1:]


def compare_tokens(reference, prompt, mine, bar: Yardstick) -> TokenComparison:
    """Runs llama.cpp greedy from prompt for len(mine) tokens and compares ours (mine) with
    them up to the first difference, noting llama.cpp's top-1 margins on the way."""
    n = len(mine)
    theirs, rows = reference_greedy_logits(reference, prompt, n)
    same = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), n)
    shortfall = 0.0 if same == n else float(rows[same].max() - rows[same][mine[same]])
    margins = top1_margins(rows[: min(same + 1, n)])
    ties = np.flatnonzero(margins < bar.near_tie)
    return TokenComparison(n, same, shortfall, int(ties[0]) if len(ties) else None, bar.near_tie)


def check_tokens(comparisons: list) -> None:
    """The rule for every comparison of our tokens with llama.cpp's: they may part only at a
    near tie, where llama.cpp ranks our token within the near-tie band of its best (which
    token wins a near tie depends on the CPU's summation order, in llama.cpp too)."""
    for c in comparisons:
        assert c.shortfall <= c.near_tie, (
            f"after {c.same} common tokens ours is {c.shortfall:.3f} below llama.cpp's best, "
            f"outside the near-tie band {c.near_tie:.3f}")


def greedy_comparisons(reference, binary, model_path, texts, bar: Yardstick, n_prompt=48, n=32):
    """For each text's first n_prompt tokens, greedy n tokens by ours and by llama.cpp."""
    comparisons = []
    for text in texts:
        prompt = text_tokens(reference, text, n_prompt)
        result = run_json([binary, "generate", "-m", model_path, "-t", "2", "--json",
                           "--ignore-eos", "-n", str(n), "--tokens", ",".join(map(str, prompt))])
        comparisons.append(compare_tokens(reference, prompt, result["generated_tokens"], bar))
    return comparisons


def describe_greedy(model: str, comparisons) -> str:
    n = comparisons[0].n
    full = sum(c.same == c.n for c in comparisons)
    return (f"{model} greedy: {full}/{len(comparisons)} prompts agree on all {n} tokens (common "
            "prefix lengths, then how far below llama.cpp's best ours is [where llama.cpp's first "
            f"near tie within {comparisons[0].near_tie:.3f} was]: "
            + ", ".join(c.describe() for c in comparisons) + ")")


def perplexities(binary, model_path, text, n_ctx=1024):
    """(ours, llama.cpp's, number of tokens) for the text in one context."""
    reference = load_reference(model_path, n_ctx=n_ctx)
    tokens = text_tokens(reference, text)
    summary = run_json([binary, "logits", "-m", model_path, "-t", "2", "-c", str(n_ctx),
                        "--tokens", ",".join(map(str, tokens))])
    theirs = reference_logits(reference, tokens)
    shifted = theirs[:-1] - theirs[:-1].max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    nll = -log_probs[np.arange(len(tokens) - 1), tokens[1:]].mean()
    return summary["perplexity"], float(np.exp(nll)), len(tokens)
