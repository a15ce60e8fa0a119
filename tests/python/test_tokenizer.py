"""matrixserve's tokenizers against independent references: the real models' vocabularies
(SmolLM2's byte-level BPE, Gemma 3's 262k-token SentencePiece) against llama.cpp
(llama-cpp-python, vocab only) on generated lines, and Qwen3's against Hugging Face `tokenizers`
through a vocabulary-only GGUF written from its tokenizer.json."""
import json
import random
import subprocess
import unicodedata

import pytest

from conftest import SHARED_MODELS

N_LINES = 1200
SEED = 20240607

WORDS = ("the quick brown fox jumps over lazy dog time upon once little girl park played "
         "model token server request latency throughput cache prefix expert attention").split()
CONTRACTIONS = ["it's", "we're", "they've", "I'm", "you'll", "he'd", "don't", "IT'S", "We'Re"]
SCRIPTS = [
    "東京都の天気は晴れです", "北京欢迎你", "한국어 문장입니다", "Привет, мир!", "Γειά σου Κόσμε",
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Ünïcödé façade naïve café",
    "ǅemal ǈuba", "ﬁve ﬂoors", "Ⅻ ⅷ ½ ¾ ² ³ ٣٤٥ ３４５ ߁߂", "e\u0301 a\u0308 n\u0303",
]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇯🇵", "❤️", "🧑‍💻", "✨", "🤖", "🥲", "☕"]
CODE = [
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    '{"key": [1, 2.5e-3, null], "ok": true}',
    "SELECT id, name FROM users WHERE age >= 21;",
    "if x != y && z <= 0x7F: print(f'{x!r}')",
    "    \t  indented\r\n\r\nwindows line",
    "<div class=\"a\">&nbsp;</div>",
]
# Gemma 3 stores runs of up to 31 spaces, tabs and newlines as tokens of their own: longer
# runs must split like llama.cpp's.
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085",
          "\x0b", "\x0c", "\x1c", "\u200b", "\u2009", " " * 33, "\t" * 40, "\n" * 34, " \n \n\t "]
# Special-token texts of both vocabularies: ChatML (SmolLM2), Gemma's turns, control, unused
# and HTML-tag tokens. Without parse_special only user-defined ones may be recognised.
SPECIAL_TEXTS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<reponame>", "<file_sep>",
                 "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<pad>", "<unused7>",
                 "[multimodal]", "<table>", "</td>", "<start_of_image>"]


def code_points_llama_cpp(data: bytes):
    """llama.cpp's lenient UTF-8 reading (unicode_cpts_from_utf8): bit patterns only."""
    i = 0
    while i < len(data):
        b = data[i]
        n = 0 if b < 0x80 else 1 if b & 0xE0 == 0xC0 else 2 if b & 0xF0 == 0xE0 else \
            3 if b & 0xF8 == 0xF0 else -1
        tail = data[i + 1:i + 1 + n] if n > 0 else b""
        if n < 0 or len(tail) < n or any(c & 0xC0 != 0x80 for c in tail) or i + n >= len(data):
            yield 0xFFFD
            i += 1
            continue
        cp = b & (0x7F, 0x1F, 0x0F, 0x07)[n]
        for c in tail:
            cp = cp << 6 | c & 0x3F
        yield cp
        i += n + 1


def llama_cpp_accepts(data: bytes) -> bool:
    # Code points above U+10FFFF make llama.cpp throw while re-encoding; not a useful case.
    return all(cp <= 0x10FFFF for cp in code_points_llama_cpp(data))


def ill_formed(rng: random.Random) -> bytes:
    pieces = [b"\xff", b"\xfe", b"\x80", b"\xbf\xbf", b"\xc3", b"\xe6\x9d", b"\xf0\x9f\x98",
              b"\xc0\x80", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc3(",
              rng.randbytes(rng.randint(1, 12))]
    parts = [rng.choice(pieces), rng.choice(WORDS).encode(), rng.choice(pieces)]
    rng.shuffle(parts)
    return b" ".join(parts)


def prose(rng: random.Random) -> str:
    words = [rng.choice(WORDS + CONTRACTIONS) for _ in range(rng.randint(1, 18))]
    if rng.random() < 0.5:
        words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice([".", "!", "?", ",", "...", "", " —", ";"])


def numbers(rng: random.Random) -> str:
    forms = [str(rng.randint(0, 10 ** rng.randint(1, 15))),
             f"{rng.uniform(-1e4, 1e4):.{rng.randint(0, 6)}f}",
             f"+1 ({rng.randint(100, 999)}) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
             f"{rng.randint(1, 31)}/{rng.randint(1, 12)}/{rng.randint(1900, 2100)}", "3.14159e+10",
             "1,000,000", "v2.0.1-rc3", f"{rng.randint(0, 255)}.{rng.randint(0, 255)}.0.1"]
    return " ".join(rng.choice(forms) for _ in range(rng.randint(1, 4)))


def mixed(rng: random.Random) -> str:
    parts = [rng.choice(SCRIPTS), rng.choice(EMOJI), prose(rng), numbers(rng), rng.choice(SPACES),
             rng.choice(SPECIAL_TEXTS), rng.choice(CODE)]
    rng.shuffle(parts)
    return "".join(rng.choice(["", " ", "  "]) + p for p in parts[:rng.randint(2, len(parts))])


def whitespace(rng: random.Random) -> str:
    return "".join(rng.choice(SPACES + ["a", "1", "!"]) for _ in range(rng.randint(1, 20)))


def generated_lines() -> list[bytes]:
    rng = random.Random(SEED)
    makers = [prose, numbers, mixed, whitespace, lambda r: r.choice(CODE),
              lambda r: r.choice(SCRIPTS), lambda r: "".join(r.choices(EMOJI, k=r.randint(1, 6)))]
    lines: list[bytes] = [b"", b" ", b"\n", "Once upon a time".encode(), ("word " * 800).encode()]
    while len(lines) < N_LINES:
        if rng.random() < 0.1:
            data = ill_formed(rng)
        else:
            data = rng.choice(makers)(rng).encode()
        if llama_cpp_accepts(data):
            lines.append(data)
    return lines


def matrixserve_lines(binary, model, args: list[str], lines: list[str]) -> list[str]:
    out = subprocess.run([str(binary), "tokenize", "-m", str(model), *args],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"matrixserve tokenize {' '.join(args)} failed: {out.stderr}"
    result = out.stdout.split("\n")[:-1]  # not splitlines(): JSON strings may hold U+2028, U+0085
    assert len(result) == len(lines), f"expected {len(lines)} output lines, got {len(result)}"
    return result


def tokenize_hex(binary, model, lines: list[bytes], special=False) -> list[list[int]]:
    args = ["--hex-lines", "--no-bos"] + (["--special"] if special else [])
    return [json.loads(r) for r in matrixserve_lines(binary, model, args, [b.hex() for b in lines])]


def detokenize(binary, model, ids: list[list[int]], special=False) -> list[str]:
    args = ["--detokenize"] + (["--special"] if special else [])
    lines = matrixserve_lines(binary, model, args, [json.dumps(i) for i in ids])
    return [json.loads(r) for r in lines]


def first_mismatches(lines, ours, theirs, limit=5):
    bad = [(line, a, b) for line, a, b in zip(lines, ours, theirs) if a != b]
    return len(bad), "\n".join(f"  {line!r}\n    ours   {a}\n    theirs {b}" for line, a, b in bad[:limit])


# The real vocabularies compared with llama.cpp: fixture giving the model file, and lines in the
# model's own chat format, tokenized with special-token parsing.
REAL_VOCABS = {
    "smollm2": ("model_path", [
        b"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
        b"<|im_start|>assistant\n",
        b"a<|endoftext|>b<reponame>c", b"<|im_start|><|im_start|>x", b"<|im_end"]),
    "gemma3": ("gemma3_model_path", [
        b"<bos><start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n<start_of_turn>model\n",
        b"a<eos>b<pad>c<unused7>d<mask>", b"<start_of_turn><start_of_turn>x", b"<end_of_turn",
        b"<table>\n  <tr><td> x </td></tr>\n</table>\t\t", b"<start_of_image> [multimodal]"]),
}


@pytest.fixture(scope="module", params=sorted(REAL_VOCABS))
def real_vocab(request):
    """(model file, llama.cpp vocabulary, chat lines) for one real model."""
    import llama_cpp  # the test venv has it (scripts/setup.sh); a missing one fails the test
    fixture, chat_lines = REAL_VOCABS[request.param]
    path = request.getfixturevalue(fixture)
    return path, llama_cpp.Llama(str(path), vocab_only=True, verbose=False), chat_lines


@pytest.mark.parametrize("special", [False, True], ids=["text", "special"])
def test_matches_llama_cpp_on_generated_lines(binary, real_vocab, special, report, request):
    model, llama_vocab, _ = real_vocab
    lines = generated_lines()
    ours = tokenize_hex(binary, model, lines, special)
    theirs = [llama_vocab.tokenize(line, add_bos=False, special=special) for line in lines]
    n_bad, detail = first_mismatches(lines, ours, theirs)
    n_ill_formed = sum(1 for line in lines if not is_utf8(line))
    report(f"tokenizer: {request.node.callspec.id} vs llama.cpp: {len(lines) - n_bad}/{len(lines)} "
           f"lines identical ({n_ill_formed} with ill-formed UTF-8)")
    assert n_bad == 0, f"{n_bad} of {len(lines)} lines differ:\n{detail}"


def test_decode_gives_text_back(binary, real_vocab):
    model, llama_vocab, _ = real_vocab
    lines = [line for line in generated_lines() if is_utf8(line)]
    ids = tokenize_hex(binary, model, lines)
    texts = detokenize(binary, model, ids)
    bad = [(line, text) for line, text in zip(lines, texts) if text.encode() != line]
    assert not bad, f"{len(bad)} lines do not round-trip, e.g. {bad[:3]}"
    assert all(llama_cpp_detokenize(llama_vocab, i) == line for i, line in zip(ids, lines))


def test_token_pieces_match_llama_cpp(binary, real_vocab):
    """Each special token and a sample of the others decoded alone, rendered and silent."""
    import llama_cpp
    model, llama_vocab, _ = real_vocab
    vocab = llama_cpp.llama_model_get_vocab(llama_vocab.model)
    special_attrs = (llama_cpp.LLAMA_TOKEN_ATTR_UNKNOWN | llama_cpp.LLAMA_TOKEN_ATTR_CONTROL |
                     llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED)
    n_vocab = llama_vocab.n_vocab()
    ids = [i for i in range(n_vocab)
           if i % 101 == 0 or llama_cpp.llama_vocab_get_attr(vocab, i) & special_attrs]
    for special in (False, True):
        ours = detokenize(binary, model, [[i] for i in ids], special)
        theirs = [llama_cpp_detokenize(llama_vocab, [i], special).decode("utf-8", "replace")
                  for i in ids]
        bad = [(i, a, b) for i, a, b in zip(ids, ours, theirs) if a != b]
        assert not bad, f"special={special}: {len(bad)} of {len(ids)} pieces differ: {bad[:5]}"


def llama_cpp_detokenize(llama, ids: list[int], special=False) -> bytes:
    """llama.cpp's own detokenizer. (llama-cpp-python's Llama.detokenize reads each piece into a
    32-byte buffer and garbles longer pieces, such as SmolLM2's runs of spaces.)"""
    import ctypes
    import llama_cpp
    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    buffer = ctypes.create_string_buffer(64 + 256 * len(ids))
    n = llama_cpp.llama_detokenize(vocab, (llama_cpp.llama_token * len(ids))(*ids), len(ids),
                                   buffer, len(buffer), False, special)
    assert 0 <= n <= len(buffer), f"llama_detokenize returned {n}"
    return buffer.raw[:n]


def test_special_tokens_match_llama_cpp(binary, real_vocab):
    model, llama_vocab, chat_lines = real_vocab
    ours = tokenize_hex(binary, model, chat_lines, special=True)
    theirs = [llama_vocab.tokenize(line, add_bos=False, special=True) for line in chat_lines]
    assert ours == theirs


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


@pytest.fixture(scope="module")
def qwen3_gguf(tmp_path_factory):
    """A vocabulary-only GGUF (tokenizer.ggml.model gpt2, pre qwen2) from Qwen3's tokenizer.json."""
    import gguf
    tokenizer_json = SHARED_MODELS / "tokenizers/qwen3/tokenizer.json"
    assert tokenizer_json.is_file(), f"missing {tokenizer_json}"
    spec = json.loads(tokenizer_json.read_text())
    vocab = dict(spec["model"]["vocab"])
    types = {}
    for added in spec["added_tokens"]:
        vocab[added["content"]] = added["id"]
        types[added["id"]] = gguf.TokenType.CONTROL if added["special"] else gguf.TokenType.USER_DEFINED
    tokens = [None] * len(vocab)
    for text, i in vocab.items():
        tokens[i] = text
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    path = tmp_path_factory.mktemp("qwen3") / "qwen3-vocab.gguf"
    writer = gguf.GGUFWriter(str(path), "qwen3")
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types([types.get(i, gguf.TokenType.NORMAL) for i in range(len(tokens))])
    writer.add_token_merges(merges)
    writer.add_eos_token_id(vocab["<|im_end|>"])
    writer.add_add_bos_token(False)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_qwen3_matches_hugging_face_tokenizers(binary, qwen3_gguf, report):
    import tokenizers
    hf = tokenizers.Tokenizer.from_file(str(SHARED_MODELS / "tokenizers/qwen3/tokenizer.json"))
    # Hugging Face normalises to NFC first (llama.cpp does not), so compare on NFC text.
    lines = [unicodedata.normalize("NFC", line.decode()).encode()
             for line in generated_lines() if is_utf8(line)]
    ours = tokenize_hex(binary, qwen3_gguf, lines, special=True)
    theirs = [hf.encode(line.decode(), add_special_tokens=False).ids for line in lines]
    n_bad, detail = first_mismatches(lines, ours, theirs)
    report(f"tokenizer: Qwen3 vs HF tokenizers: {len(lines) - n_bad}/{len(lines)} lines identical")
    assert n_bad == 0, f"{n_bad} of {len(lines)} lines differ:\n{detail}"
