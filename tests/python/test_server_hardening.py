"""The server under an adversarial client and a careless operator (issue 22): oversized trailers,
headers and URIs, the descriptor limit, a client that never reads its stream, a full queue, a
stuck worker. Every case runs real processes and real sockets."""
import contextlib
import http.client
import json
import os
import resource
import signal
import socket
import threading
import time

import openai
import pytest

from conftest import SHARED_MODELS
from server_fixtures import Server, error_of
from test_split_deployment import attention_ffn, shm_prefix  # noqa: F401
from test_worker_relaunch import the_worker, wait_until_healthy

COMPLETIONS = "/v1/completions"
STORIES = SHARED_MODELS / "stories260K" / "stories260K.gguf"


@pytest.fixture(scope="module")
def server(binary, model_path):
    srv = Server(binary, model_path, "--kv-blocks", 128, "-t", 2, "-c", 512)
    yield srv
    assert srv.stop() == 0, srv.log_text()


def raw_exchange(server, request: bytes) -> bytes:
    """Sends raw bytes, returns everything the server answers before it closes."""
    with socket.create_connection((server.host, server.port), timeout=30) as s:
        s.sendall(request)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return reply


def status_line(reply: bytes) -> bytes:
    return reply.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("value_bytes", [65_000, 65_600, 1 << 20])
def test_an_oversized_trailer_gets_431_before_authentication(server, value_bytes):
    """65,600 bytes in one trailer field used to throw out of the I/O loop and abort the server."""
    request = (b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " +
               b"t" * value_bytes + b"\r\n\r\n")
    try:
        reply = raw_exchange(server, request)
    except ConnectionResetError:
        reply = b""  # closed while the rest of a 1 MB trailer was still being sent
    assert server.process.poll() is None, server.log_text()
    if reply:
        assert status_line(reply) == b"HTTP/1.1 431 Request Header Fields Too Large", reply[:200]
        assert error_of(reply.split(b"\r\n\r\n", 1)[1])["code"] == "header_too_large"
    assert server.request("GET", "/health")[0] == 200


def test_an_overlong_header_is_431_and_an_overlong_uri_is_414(server):
    big_header = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    assert status_line(raw_exchange(server, big_header)).startswith(b"HTTP/1.1 431")
    long_uri = b"GET /" + b"u" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert status_line(raw_exchange(server, long_uri)).startswith(b"HTTP/1.1 414")
    huge_uri = b"GET /" + b"u" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert status_line(raw_exchange(server, huge_uri)).startswith(b"HTTP/1.1 414")
    assert server.request("GET", "/health")[0] == 200


def test_the_bearer_scheme_is_case_insensitive(server):
    for scheme in ("bearer", "BEARER", "Bearer"):
        status, _, _ = server.request("GET", "/v1/models", headers={"Authorization": f"{scheme} {server.api_key}"})
        assert status == 200, scheme


def test_a_nul_byte_in_the_model_name_is_kept_in_the_404(server):
    status, _, body = server.request("POST", COMPLETIONS, {"model": "a\u0000secret-tail", "prompt": "x"})
    assert status == 404
    assert "secret-tail" in error_of(body)["message"]


def test_an_idle_server_does_not_commit_its_kv_cache(binary, model_path, report):
    """The default KV pool (4,096 blocks of 16 tokens, 3 GB for SmolLM2) is mapped, not touched."""
    srv = Server(binary, model_path, "-t", 1)
    try:
        idle_rss = srv.rss_kib()
    finally:
        assert srv.stop() == 0, srv.log_text()
    report(f"idle RSS with the default KV pool: {idle_rss // 1024} MiB (2.98 GB when it was filled at start)")
    assert idle_rss < 768 * 1024


def test_the_accept_loop_backs_off_at_the_descriptor_limit(binary, model_path, report):
    """With 48 descriptors and 80 idle clients the accept loop used to spin on EMFILE (a whole core)
    and /health was unreachable. Now it waits between attempts and turns one client away with 503
    from a reserve descriptor."""
    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    srv = Server(binary, model_path, "-t", 1, "--kv-blocks", 64, preexec_fn=few_descriptors)
    idle = []
    try:
        for _ in range(80):
            idle.append(socket.create_connection((srv.host, srv.port), timeout=10))
        time.sleep(0.5)
        cpu_before = srv.cpu_seconds()
        time.sleep(3.0)
        burned = srv.cpu_seconds() - cpu_before
        start = time.monotonic()
        status = srv.request("GET", "/health", timeout=20)[0]
        waited = time.monotonic() - start
        report(f"80 idle clients at 48 descriptors: server CPU {burned:.2f} s in 3 s; /health answered "
               f"{status} after {waited:.2f} s")
        assert burned < 1.0, "the accept loop spins"
        assert status in (200, 503)
        for s in idle:
            s.close()
        idle.clear()
        deadline = time.monotonic() + 20
        while srv.request("GET", "/health")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert srv.process.poll() is None
    finally:
        for s in idle:
            s.close()
        assert srv.stop() == 0, srv.log_text()


def test_a_client_that_never_reads_its_stream_is_cut_off(binary, report):
    """n=16 with logprobs into a socket nobody reads: the server used to buffer it all in user
    space. Past --max-buffered-bytes the request is cancelled and the connection closed. The tiny
    model writes megabytes a second, past the kernel's socket buffers (up to 4 MB) at once."""
    srv = Server(binary, STORIES, "-t", 2, "--kv-blocks", 1024, "-c", 512,
                 "--max-buffered-bytes", 1 << 20)
    try:
        rss_before = srv.rss_kib()
        body = json.dumps({"model": srv.model, "prompt": "Once upon a time", "max_tokens": 500, "n": 16,
                           "logprobs": 20, "stream": True, "ignore_eos": True}).encode()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((srv.host, srv.port))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + srv.api_key.encode() +
                  b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        start = time.monotonic()
        while "read too slowly" not in srv.log_text():
            assert time.monotonic() - start < 45, "the slow reader was not cut off:\n" + srv.log_text()
            time.sleep(0.2)
        cut_after = time.monotonic() - start
        deadline = time.monotonic() + 20
        while srv.metrics().get("num_requests_running", 0) > 0:
            assert time.monotonic() < deadline, "the slow reader's choices still run"
            time.sleep(0.1)
        rss_after = srv.rss_kib()
        s.close()
        report(f"a stream never read (n=16, logprobs): cut off after {cut_after:.1f} s; RSS "
               f"{rss_before // 1024} -> {rss_after // 1024} MiB")
        assert srv.request("GET", "/health")[0] == 200
    finally:
        assert srv.stop() == 0, srv.log_text()


def long_stream(srv, outcome: dict, started: threading.Event, **fields):
    try:
        stream = srv.client().completions.create(model=srv.model, prompt="Once upon a time", temperature=0,
                                                 stream=True, **fields)
        text, reason = "", None
        for chunk in stream:
            started.set()
            text += chunk.choices[0].text if chunk.choices else ""
            reason = chunk.choices[0].finish_reason if chunk.choices else reason
        outcome.update(error=None, text=text, finish_reason=reason)
    except openai.APIError as error:
        outcome["error"] = str(error)
    outcome["ended"] = time.monotonic()


def test_a_request_that_waits_too_long_in_the_queue_gets_503(binary, model_path, report):
    srv = Server(binary, model_path, "-t", 2, "--max-running", 1, "--max-queue-wait-ms", 1000,
                 "--sse-keepalive-ms", 300)
    outcome, started = {}, threading.Event()
    busy = threading.Thread(target=long_stream, args=(srv, outcome, started),
                            kwargs={"max_tokens": 400, "extra_body": {"ignore_eos": True}})
    try:
        busy.start()
        assert started.wait(60)
        # A stream behind it hears keep-alive comments while it waits, then its 503.
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        conn.request("POST", COMPLETIONS, json.dumps({"model": srv.model, "prompt": "Hi", "stream": True}),
                     {"Authorization": f"Bearer {srv.api_key}", "Content-Type": "application/json"})
        queued = conn.getresponse()
        assert queued.status == 200
        events = queued.read().decode()
        assert events.startswith(": keep-alive\n\n"), events[:200]
        assert "waited too long to start" in events and "[DONE]" in events, events
        start = time.monotonic()
        status, headers, body = srv.request("POST", COMPLETIONS, {"model": srv.model, "prompt": "Hi"})
        waited = time.monotonic() - start
        assert status == 503, body
        assert headers.get("retry-after") == "1"
        assert "waited too long to start" in error_of(body)["message"]
        assert waited < 10
        report(f"queue-wait bound 1 s behind a busy request: 503 with Retry-After after {waited:.2f} s")
        busy.join(120)
        assert outcome["error"] is None and outcome["finish_reason"] == "length"
    finally:
        assert srv.stop() == 0, srv.log_text()


@contextlib.contextmanager
def worker_stopped_mid_stream(srv, max_tokens):
    """Starts a long stream, SIGSTOPs the worker once tokens flow; SIGCONT when done with it."""
    outcome, started = {}, threading.Event()
    stream = threading.Thread(target=long_stream, args=(srv, outcome, started),
                              kwargs={"max_tokens": max_tokens})
    stream.start()
    assert started.wait(60)
    worker = the_worker(srv)
    os.kill(worker, signal.SIGSTOP)
    outcome["stopped"] = time.monotonic()
    try:
        yield worker, stream, outcome
    finally:
        try:
            os.kill(worker, signal.SIGCONT)
        except ProcessLookupError:
            pass  # killed and reaped by the supervisor


def test_a_stopped_worker_fails_its_requests_and_is_relaunched(binary, model_path, tmp_path, shm_prefix,
                                                               report):
    """SIGSTOP of the FFN worker used to hang every stream with no bound while /health said ok.
    A unit round trip slower than --worker-timeout-ms now marks the worker down: its requests
    fail, /health says 503, the worker is killed and relaunched, and serving resumes."""
    srv = Server(binary, model_path, "-t", 1, "-c", 2048, "--worker-timeout-ms", 3000,
                 "--deployment", attention_ffn(tmp_path, "shm", shm_prefix))
    try:
        with worker_stopped_mid_stream(srv, max_tokens=1000) as (worker, stream, outcome):
            stream.join(30)
            assert not stream.is_alive(), "the stream hangs behind a stopped worker"
            assert outcome["error"] and "unavailable" in outcome["error"], outcome
            failed_after = outcome["ended"] - outcome["stopped"]
            assert failed_after < 15, outcome
            back_after = wait_until_healthy(srv, timeout=60)
            assert the_worker(srv) != worker
        assert srv.client().completions.create(model=srv.model, prompt="Hi", max_tokens=4).choices
        assert "connection failed; killed it" in srv.log_text()
        report(f"stopped worker (timeout 3 s): its stream failed after {failed_after:.1f} s; serving again "
               f"{back_after:.1f} s later")
    finally:
        assert srv.stop() == 0, srv.log_text()


def test_a_deadline_holds_while_a_step_is_stuck_and_sigterm_does_not_wait_for_it(
        binary, model_path, tmp_path, shm_prefix, report):
    """The engine checks deadlines between steps; with the worker stopped the step never ends.
    The reply must still end at --request-timeout-ms, and SIGTERM must exit within the worker
    timeout rather than wait for the stopped worker."""
    srv = Server(binary, model_path, "-t", 1, "-c", 2048, "--request-timeout-ms", 6000,
                 "--worker-timeout-ms", 20000, "--deployment", attention_ffn(tmp_path, "shm", shm_prefix))
    try:
        with worker_stopped_mid_stream(srv, max_tokens=1900) as (_, stream, outcome):
            stream.join(20)
            assert not stream.is_alive(), "the deadline did not hold while the step was stuck"
            assert outcome["error"] is None and outcome["finish_reason"] == "length", outcome
            srv.process.send_signal(signal.SIGTERM)
            start = time.monotonic()
            exit_status = srv.process.wait(60)
        report(f"deadline 6 s with the worker stopped: the stream ended with 'length'; SIGTERM exited "
               f"{exit_status} after {time.monotonic() - start:.1f} s (worker timeout 20 s)")
        assert exit_status == 0, srv.log_text()
    finally:
        srv.stop()
