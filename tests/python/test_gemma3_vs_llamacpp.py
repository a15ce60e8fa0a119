"""Gemma 3 270M Q4_K_M against llama.cpp (llama-cpp-python) on the same file: teacher-forced
top-1 agreement, greedy generations, perplexity over a context longer than the 512-token
sliding window, and chat. Every comparison is measured against llama.cpp's own spread on this
CPU (llamacpp_reference)."""
import pytest
from conftest import run_json
from llamacpp_reference import (check_agreement, check_tokens, compare_tokens, describe_greedy,
                                describe_teacher_forced, greedy_comparisons, load_reference,
                                perplexities, reference_run, teacher_forced, texts_with_chat)

TEXTS = texts_with_chat(
    "<start_of_turn>user\nCan you explain why the sky is blue in simple terms? I would like an "
    "answer that a ten year old could follow.<end_of_turn>\n<start_of_turn>model\nSure! Sunlight "
    "looks white, but it is really a mix of all the colors of the rainbow. When sunlight enters "
    "the air, it bumps into tiny bits of gas. Blue light gets bounced around much more than red "
    "or yellow light, because it travels in shorter, choppier waves. So when you look up, blue "
    "light is coming at you from every direction, and the whole sky looks blue.<end_of_turn>\n")
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def reference(gemma3_model_path):
    return load_reference(gemma3_model_path)


@pytest.fixture(scope="module")
def run(gemma3_model_path, reference):
    return reference_run(gemma3_model_path, reference, TEXTS)


def test_teacher_forced_top1_agreement(run, binary, gemma3_model_path, report, isa):
    """Like SmolLM2, Gemma 3 under 8-bit activations is chaotic: llama.cpp with flash attention
    or an F16 KV cache agrees with its own plain run on only ~95% of top-1 tokens. So the
    yardstick is llama.cpp's variants on this CPU: ours within two points of the worst, every
    miss a near tie, logits no further off than twice theirs. The issue's 99% cannot be met by
    llama.cpp itself. (Measured misses: variants up to 0.61 logits, ours 0.41 to 0.71 as float
    summation order in the kernels changed.)"""
    ours = teacher_forced(binary, gemma3_model_path, run)
    report(describe_teacher_forced("Gemma 3", len(TEXTS), ours, run.bar))
    check_agreement(ours, run.bar)


def test_greedy_generations_agree(reference, run, binary, gemma3_model_path, report, isa):
    """llama.cpp's own variants keep all 32 greedy tokens on only 2 of these 5 prompts
    (flash attention: common prefixes 27, 32, 31, 14, 32; F16 KV: 9, 32, 31, 20, 32), each
    first difference a near tie, and which prompts survive moves with float summation order
    (ours kept 2 of 5, then 1 of 5 after a kernel change). So ours must equal llama.cpp's up to
    a near tie; how many prompts agree on all 32 is reported."""
    comparisons = greedy_comparisons(reference, binary, gemma3_model_path, TEXTS, run.bar, n=32)
    report(describe_greedy("Gemma 3", comparisons))
    check_tokens(comparisons)


def test_perplexity_within_one_percent(binary, gemma3_model_path, report):
    """Over all texts in one context (~730 tokens): past 512 tokens the local layers' sliding
    window drops the oldest keys, which llama.cpp does too."""
    ours, theirs, n_tokens = perplexities(binary, gemma3_model_path, "\n\n".join(TEXTS))
    report(f"Gemma 3 perplexity over {n_tokens} tokens: ours {ours:.4f}, llama.cpp "
           f"{theirs:.4f} ({(ours / theirs - 1):+.3%})")
    assert n_tokens > 512
    assert abs(ours / theirs - 1) < 0.01


def test_chat_about_the_capital_of_france(reference, run, binary, gemma3_model_path, report,
                                          isa):
    """This is the pretrained Gemma 3 270M (no instruction tuning, no chat template in the
    file): greedy, it echoes the question under the chat format in llama.cpp too, and we must
    give llama.cpp's tokens up to a near tie (the continuation after the echo is a run of
    close calls: with the AMX kernels, which sum exactly like the scalar reference, our 8th
    token is llama.cpp's second choice). It does know the answer: a plain question-and-answer
    completion names Paris."""
    model = gemma3_model_path
    greedy = run_json([binary, "generate", "-m", model, "--chat", "--json", "-n", "16",
                       "-p", QUESTION])
    assert greedy["prompt_tokens"][:2] == [reference.token_bos(), 105]  # <bos><start_of_turn>
    chat = compare_tokens(reference, greedy["prompt_tokens"], greedy["generated_tokens"], run.bar)
    completion = run_json([binary, "generate", "-m", model, "--json", "-n", "4",
                           "-p", f"Question: {QUESTION}\nAnswer:"])
    report(f"Gemma 3 chat {QUESTION!r}: greedy {greedy['text']!r} (common prefix with "
           f"llama.cpp's, then how far below its best [its first near tie]: {chat.describe()}); "
           f"'Question: ...\\nAnswer:' gives {completion['text']!r}")
    check_tokens([chat])
    assert completion["text"].startswith(" Paris")


def test_sampled_chat_answers_are_reported(binary, gemma3_model_path, report):
    """Sampled chat replies (T=0.7) name Paris only now and then (1 in 8 before the AMX
    kernels, 0 in 8 after: at that rate 8 samples miss it a third of the time), and which ones
    do depends on the CPU's rounding: reported, not asserted."""
    sampled = [run_json([binary, "generate", "-m", gemma3_model_path, "--chat", "--json", "-n",
                         "32", "--temp", "0.7", "--top-p", "0.9", "--seed", str(seed), "-p",
                         QUESTION])["text"] for seed in range(8)]
    report(f"Gemma 3 chat {QUESTION!r}: sampled (T=0.7) names Paris in "
           f"{sum('Paris' in text for text in sampled)}/8")
