"""INT8 activations in unit messages (`activations: int8`): the front end sends a residual unit's
rows as int8 with exact outliers and adds the unit's int8 delta to its own exact activations
(docs/deployment.md). Teacher-forced over a few hundred tokens of real text, an attention | ffn
split over shm must keep the colocated top-1.

SmolLM2-135M-Q4_1 is chaotic under any perturbation (its matmuls quantize activations to 8 bits, so
a flipped rounding moves later logits): nudging half the values the worker receives by one float
ulp already gives ~97% top-1 agreement over this text. There the test asks for what a good codec
keeps and a poor one loses (one scale per row without outliers: 87.5%, perplexity +2.1%, logits
13 apart): >= 93% top-1, every miss a near-tie, perplexity within 1%."""
import pathlib

import numpy as np
import pytest

from conftest import SHARED_MODELS, run_json
from test_split_deployment import shm_prefix  # noqa: F401
from test_split_pipeline import served_completions, with_micro_batches

TEXTS = pathlib.Path(__file__).parent / "texts"
STORIES = SHARED_MODELS / "stories260K" / "stories260K.gguf"


def attention_ffn(tmp_path: pathlib.Path, prefix: str, activations: str) -> pathlib.Path:
    path = tmp_path / f"attention-ffn.{activations}.yaml"
    path.write_text(f"transport: shm\nactivations: {activations}\nroles:\n"
                    f"  attention:\n    units: [embedding, attention, head]\n"
                    f"    addresses: [{prefix}-attention]\n"
                    f"  ffn:\n    units: [ffn]\n    addresses: [{prefix}-ffn]\n")
    return path


def teacher_forced(binary, model, text: str, out: pathlib.Path, *extra) -> tuple[np.ndarray, float]:
    result = run_json([binary, "logits", "-m", model, "--text", text, "-t", 1, "-o", out, *extra])
    logits = np.fromfile(out, dtype=np.float32).reshape(len(result["tokens"]), result["n_vocab"])
    return logits, result["perplexity"]


def compare(binary, model, text_file: str, tmp_path, prefix, report):
    """Colocated against int8 over the split: (agreement, margins of the misses, ppl ratio)."""
    text = (TEXTS / text_file).read_text()
    colocated, ppl = teacher_forced(binary, model, text, tmp_path / "colocated.bin")
    int8, int8_ppl = teacher_forced(binary, model, text, tmp_path / "int8.bin", "--deployment",
                                    attention_ffn(tmp_path, prefix, "int8"))
    misses = np.flatnonzero(colocated.argmax(axis=1) != int8.argmax(axis=1))
    agree = 1 - len(misses) / len(colocated)
    top2 = np.sort(colocated, axis=1)[:, -2:]
    margins = top2[misses, 1] - top2[misses, 0]
    max_diff = np.abs(colocated - int8).max()
    report(f"{model.stem}: INT8 unit messages (attention | ffn over shm), teacher-forced over "
           f"{len(colocated)} tokens of {text_file}: top-1 agreement {agree:.1%} ({len(misses)} "
           f"misses, largest colocated top-2 margin {margins.max(initial=0):.3f}), max |logit diff| "
           f"{max_diff:.3g}, perplexity {ppl:.4f} -> {int8_ppl:.4f}")
    assert max_diff > 0, "the activations did not travel as INT8"
    return agree, margins, int8_ppl / ppl


def test_int8_unit_messages_keep_top1_on_stories260K(binary, tmp_path, shm_prefix, report):
    agree, margins, ppl_ratio = compare(binary, STORIES, "red_ball_story.txt", tmp_path,
                                        shm_prefix, report)
    assert agree >= 0.99
    assert np.all(margins < 0.1), "a miss that is not a near-tie"
    assert abs(ppl_ratio - 1) < 0.005


def test_int8_unit_messages_on_smollm2_stay_within_its_chaos(binary, model_path, tmp_path,
                                                             shm_prefix, report):
    agree, margins, ppl_ratio = compare(binary, model_path, "lighthouse.txt", tmp_path,
                                        shm_prefix, report)
    assert agree >= 0.93
    assert np.all(margins < 0.5), "a miss that is not a near-tie"
    assert abs(ppl_ratio - 1) < 0.01



def served(binary, deployment_file: pathlib.Path) -> tuple[list, float]:
    """Concurrent greedy completions under `serve`, and the bytes received from the FFN worker
    (each prompt and generated token passes each FFN layer once, however steps are formed)."""
    texts, samples = served_completions(binary, STORIES, "--deployment", deployment_file)
    return texts, samples['transport_bytes_total{peer="ffn/0",direction="received"}']


def test_int8_unit_messages_under_serve_are_per_row_and_smaller(binary, tmp_path, shm_prefix,
                                                                report):
    """Each row is quantized on its own, so cutting steps into micro-batches changes nothing;
    the FFN worker's replies shrink to the int8 rows' size (73 bytes of 256 for 64 values)."""
    f32 = attention_ffn(tmp_path, shm_prefix, "f32")
    int8 = attention_ffn(tmp_path, shm_prefix, "int8")
    _, f32_bytes = served(binary, f32)
    whole, int8_bytes = served(binary, int8)
    pipelined, _ = served(binary, with_micro_batches(int8, 2))
    assert pipelined == whole
    report(f"stories260K under serve, attention | ffn over shm: bytes received from the FFN "
           f"worker, int8 / f32 = {int8_bytes / f32_bytes:.2f} ({int8_bytes:.0f} / {f32_bytes:.0f})")
    assert int8_bytes < 0.4 * f32_bytes
