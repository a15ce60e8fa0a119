"""`matrixserve serve` under load: 64 concurrent greedy streams equal their runs alone,
prefix reuse shows in /metrics and usage, and a client that disconnects mid-stream frees its
KV blocks while the server keeps serving."""
import asyncio
import socket
import time

import pytest

from server_fixtures import Server

PROMPTS = [
    "Write a haiku about the sea.",
    "What is 17 times 3?",
    "Name a famous painter.",
    "Describe a cat in one sentence.",
    "Why is the sky blue?",
    "Give me a word that rhymes with moon.",
    "What do bees make?",
    "Suggest a name for a dog.",
]
MAX_TOKENS = 16
LONG_SYSTEM = ("You are a meticulous assistant for a public library. " * 3 +
               "Rules: " + " ".join(f"Rule {i}: answer politely and cite the shelf number {i * 7}." for i in range(20)))


@pytest.fixture(scope="module")
def server(binary, model_path):
    srv = Server(binary, model_path, "--kv-blocks", 512, "--max-running", 64, "-t", 2)
    yield srv
    assert srv.stop() == 0, srv.log_text()


async def stream_chat(client, model, prompt, system=None):
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    start = time.monotonic()
    first = None
    text = []
    stream = await client.chat.completions.create(model=model, messages=messages, max_tokens=MAX_TOKENS,
                                                  temperature=0, stream=True,
                                                  stream_options={"include_usage": True})
    usage = None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                first = first or time.monotonic()
                text.append(choice.delta.content)
    return "".join(text), (first or time.monotonic()) - start, usage


def test_64_concurrent_greedy_streams_equal_alone(server, report):
    async def run():
        client = server.client(async_client=True)
        alone = {p: (await stream_chat(client, server.model, p))[0] for p in PROMPTS}
        start = time.monotonic()
        results = await asyncio.gather(*(stream_chat(client, server.model, PROMPTS[i % len(PROMPTS)])
                                         for i in range(64)))
        elapsed = time.monotonic() - start
        await client.close()
        return alone, results, elapsed

    alone, results, elapsed = asyncio.run(run())
    tokens = sum(usage.completion_tokens for _, _, usage in results)
    report(f"64 concurrent greedy streams: {tokens} tokens in {elapsed:.1f} s ({tokens / elapsed:.0f} tok/s)")
    for i, (text, _, usage) in enumerate(results):
        assert text == alone[PROMPTS[i % len(PROMPTS)]], f"request {i} differs from its run alone"
        assert usage.completion_tokens > 0


def test_prefix_reuse_hits_cache(server, report):
    async def run():
        client = server.client(async_client=True)
        cold = await stream_chat(client, server.model, "Where are the atlases?", system=LONG_SYSTEM)
        hits_between = server.metrics()["prefix_cache_hits_total"]
        warm = await stream_chat(client, server.model, "Where are the novels?", system=LONG_SYSTEM)
        await client.close()
        return cold, hits_between, warm

    cold, hits_between, warm = asyncio.run(run())
    assert cold[2].prompt_tokens > 200
    assert warm[2].prompt_tokens_details.cached_tokens > 150
    assert server.metrics()["prefix_cache_hits_total"] >= hits_between + warm[2].prompt_tokens_details.cached_tokens
    report(f"prefix reuse: {cold[2].prompt_tokens}-token prompt, second request {warm[2].prompt_tokens_details.cached_tokens} "
           f"cached; TTFT {cold[1] * 1000:.0f} ms cold -> {warm[1] * 1000:.0f} ms warm")


def raw_stream_request(server, max_tokens):
    sock = socket.create_connection((server.host, server.port), timeout=30)
    body = (f'{{"model": "{server.model}", "prompt": "Once upon a time", "max_tokens": {max_tokens}, '
            f'"temperature": 0, "ignore_eos": true, "stream": true}}').encode()
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + server.api_key.encode() + b"\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return sock


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_disconnect_mid_stream_frees_kv_blocks(server, report):
    cancelled_before = server.metrics().get('request_success_total{finished_reason="cancelled"}', 0)
    sock = raw_stream_request(server, 400)
    received = b""
    while received.count(b"data:") < 5:
        received += sock.recv(4096)
    during = server.metrics()
    assert during["kv_cache_usage_perc"] > 0
    assert during["num_requests_running"] == 1
    sock.close()
    assert wait_for(lambda: server.metrics()["kv_cache_usage_perc"] == 0), "KV blocks not freed"
    after = server.metrics()
    assert after["num_requests_running"] == 0
    assert after['request_success_total{finished_reason="cancelled"}'] == cancelled_before + 1
    report(f"disconnect: kv_cache_usage_perc {during['kv_cache_usage_perc']:.3f} mid-stream -> "
           f"{after['kv_cache_usage_perc']:.3f} after the client left")
    r = server.client().completions.create(model=server.model, prompt="Hi", max_tokens=4)
    assert r.usage.completion_tokens == 4  # still serving
