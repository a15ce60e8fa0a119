"""A running `matrixserve serve` for the server tests: started on a free loopback port, ready
once /health answers, stopped with SIGTERM (which must exit 0). Helpers for raw HTTP, so
error paths can be checked without the openai client in the way, and for /metrics."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import openai

API_KEYS = ("sk-test-one", "sk-test-two")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, model_path, *extra, api_keys=API_KEYS, preexec_fn=None):
        self.port = free_port()
        self.host = "127.0.0.1"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="matrixserve-", suffix=".log")
        args = [str(binary), "serve", "-m", str(model_path), "--port", str(self.port), *map(str, extra)]
        if api_keys:
            self.key_file = tempfile.NamedTemporaryFile("w", suffix=".keys")
            self.key_file.write("# test keys\n" + "\n".join(api_keys) + "\n")
            self.key_file.flush()
            args += ["--api-key-file", self.key_file.name]
        self.api_key = api_keys[0] if api_keys else "unused"
        self.process = subprocess.Popen(args, stdout=self.log, stderr=self.log, preexec_fn=preexec_fn)
        self.model = os.path.splitext(os.path.basename(str(model_path)))[0]
        self._wait_ready()

    def _wait_ready(self, timeout=90.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy:\n" + self.log_text())

    def log_text(self) -> str:
        self.log.seek(0)
        return self.log.read()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def client(self, api_key=None, async_client=False):
        cls = openai.AsyncOpenAI if async_client else openai.OpenAI
        return cls(base_url=self.base_url, api_key=api_key or self.api_key, max_retries=0, timeout=120)

    def request(self, method, path, body=None, headers=None, timeout=60):
        """Raw HTTP: returns (status, headers dict, body bytes)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            payload = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            all_headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
            all_headers.update(headers or {})
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def metrics(self) -> dict:
        """/metrics samples by name (labels other than model_name kept in the key)."""
        status, _, body = self.request("GET", "/metrics")
        assert status == 200
        samples = {}
        for line in body.decode().splitlines():
            if line.startswith("#") or not line:
                continue
            name_labels, value = line.rsplit(" ", 1)
            name_labels = re.sub(r'model_name="[^"]*",?', "", name_labels).replace("{}", "")
            samples[name_labels.removeprefix("matrixserve:")] = float(value)
        return samples

    def stop(self, timeout=60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def error_of(body: bytes) -> dict:
    """The OpenAI error object of a response body, after checking its shape."""
    doc = json.loads(body)
    assert set(doc) == {"error"}, doc
    error = doc["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    return error
