"""/metrics of a server running a split deployment (issue 5): time in each unit by kind and
location (the front end or a worker) and the bytes, messages and time of the transport per
worker, all growing with the requests served."""
from server_fixtures import Server
from test_split_deployment import STORIES, attention_ffn, shm_prefix  # noqa: F401


def complete(server, max_tokens):
    client = server.client()
    return client.completions.create(model=server.model, prompt="Once upon a time",
                                     max_tokens=max_tokens, temperature=0)


def test_unit_and_transport_metrics_of_a_split_deployment(binary, tmp_path, shm_prefix):
    server = Server(binary, STORIES, "-t", 1, "-c", 256, "--deployment",
                    attention_ffn(tmp_path, "shm", shm_prefix))
    try:
        complete(server, 8)
        first = server.metrics()
        complete(server, 8)
        second = server.metrics()
    finally:
        assert server.stop() == 0, server.log_text()
    ffn = 'unit="ffn",location="ffn/0"'
    attention = 'unit="attn",location="local"'
    for labels in (ffn, attention, 'unit="embed",location="local"', 'unit="head",location="local"'):
        assert first[f"unit_seconds_total{{{labels}}}"] > 0, labels
        assert second[f"unit_calls_total{{{labels}}}"] > first[f"unit_calls_total{{{labels}}}"]
    # stories260K has 5 layers: every step calls each layer's FFN in the worker once.
    assert first[f"unit_calls_total{{{ffn}}}"] == 5 * first['unit_calls_total{unit="head",location="local"}']
    for direction in ("sent", "received"):
        peer = f'peer="ffn/0",direction="{direction}"'
        assert first[f"transport_bytes_total{{{peer}}}"] > 0
        assert second[f"transport_bytes_total{{{peer}}}"] > first[f"transport_bytes_total{{{peer}}}"]
        assert first[f"transport_seconds_total{{{peer}}}"] > 0
    assert second['transport_messages_total{peer="ffn/0",direction="sent"}'] == \
        second[f"unit_calls_total{{{ffn}}}"]


def test_a_colocated_server_has_no_unit_metrics(binary):
    server = Server(binary, STORIES, "-t", 1, "-c", 256)
    try:
        complete(server, 2)
        samples = server.metrics()
    finally:
        server.stop()
    assert not [name for name in samples if name.startswith(("unit_", "transport_"))]
