"""What the party proxies cost a federation object, against one direct gRPC stream.

    python bench/federation.py [--latency-rounds 300] [--rounds 3] [--sizes-mb 64 512]

Starts guest 9999 and host 10000 as real `fateflow node` processes (core, gateway and proxy
each, linked by their proxies with HMAC-signed calls, as `tests/multiparty/cluster.py` does),
and a host task process that answers what the guest task (this process) sends:

- latency: a 1 KB array guest -> host -> guest, `remote` then `get` at each end, so through
  both proxies twice (task -> own proxy -> other proxy -> mailbox -> task, and back);
- throughput: an array of each size guest -> host, timed from `remote` until the host task
  has decoded it and its 1-byte acknowledgement is back (task -> task, the figure the ratio
  uses); also until `remote` returns, i.e. the object is on the host proxy's disk (task ->
  proxy), which shows what the mailbox's store-and-forward adds.

The floor is the same payloads between two processes over one direct gRPC stream with no
proxy: a bidirectional stream echoing 1 KB messages, and a client stream of the same chunks
(1 MiB) into a server that copies them into one buffer, then answers. The measurements
alternate between ours and the floor in rounds, so that a machine that slows down weighs on
both. What a proxy in a compiled language could reach is measured too, where `socat` is
installed (Debian's package): the floor's stream through two socat relays, a byte relay in C
at each proxy's place (it reads nothing of the calls: the floor of such a proxy, not the
proxy). Prints a table, then one JSON line of the figures with `latency_ratio_p50` (ours /
floor) and `throughput_ratio` (ours / floor, the lower of the sizes' ratios). A figure is
never a failure: the exit status says only whether the measurement could run.
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import ExitStack
from pathlib import Path

import grpc
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fateflow_grpc.domain.parties import PartyRole  # noqa: E402
from fateflow_grpc.federation.client import Federation  # noqa: E402
from fateflow_grpc.federation.codec import CHUNK_SIZE  # noqa: E402

GUEST, HOST = PartyRole("guest", 9999), PartyRole("host", 10000)
ROLES = {"guest": [GUEST.party_id], "host": [HOST.party_id]}
JOB_ID = "20200101000000000900"
WARMUP = 20
LATENCY_BYTES = 1024
MB = 1024 * 1024
#: Generous: a slow machine makes slow figures, not a failed run.
TIMEOUT_S = 600.0


# --- the host task ----------------------------------------------------------------------------


def host_task(proxy_address: str, latency_rounds: int, sizes_mb: list[int], rounds: int) -> None:
    """Echo each ping, acknowledge each bulk object, in the order the guest sends them."""
    with Federation(JOB_ID, "s", HOST, ROLES, proxy_address) as host:
        for index in range(WARMUP + latency_rounds):
            [ping] = host.get("ping", str(index), [GUEST], TIMEOUT_S)
            host.remote(ping, "pong", str(index), [GUEST])
        for size in sizes_mb:
            for index in range(rounds):
                [bulk] = host.get("bulk", f"{size}.{index}", [GUEST], TIMEOUT_S)
                assert isinstance(bulk, np.ndarray) and bulk.nbytes == size * MB
                del bulk
                host.remote(b"\x01", "ack", f"{size}.{index}", [GUEST])


# --- the floor: one direct gRPC stream between two processes -----------------------------------


class FloorHandler(grpc.GenericRpcHandler):
    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        if handler_call_details.method == "/bench.Floor/Echo":
            return grpc.stream_stream_rpc_method_handler(lambda requests, _: requests)
        if handler_call_details.method == "/bench.Floor/Sink":
            return grpc.stream_unary_rpc_method_handler(_sink)
        # One call of each kind our objects take, each the size of a 1 KB object's.
        if handler_call_details.method == "/bench.Floor/Call":
            return grpc.unary_unary_rpc_method_handler(lambda request, _: request)
        if handler_call_details.method == "/bench.Floor/Push":
            return grpc.stream_unary_rpc_method_handler(lambda requests, _: b"".join(requests))
        if handler_call_details.method == "/bench.Floor/Pull":
            return grpc.unary_stream_rpc_method_handler(lambda request, _: iter((b"h", request)))
        return None


def _sink(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
    size = int(dict(context.invocation_metadata())["size"])
    buffer = np.empty(size, np.uint8)
    target = memoryview(buffer.data)
    offset = 0
    for chunk in requests:
        target[offset : offset + len(chunk)] = chunk
        offset += len(chunk)
    return b"\x01"


def floor_server() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((FloorHandler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
    server.stop(None)


def relays(stack: ExitStack, target: str, hops: int) -> str | None:
    """The address of a chain of `hops` socat relays ending at target (None without socat)."""
    if shutil.which("socat") is None:
        return None
    for _ in range(hops):
        with socket.socket() as probe:  # a free port; socat takes it at once
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        relay = subprocess.Popen(
            [
                "socat",
                f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr,nodelay",
                f"TCP:{target},nodelay",
            ]
        )
        stack.callback(relay.wait, 10)
        stack.callback(relay.terminate)
        target = f"127.0.0.1:{port}"
    time.sleep(0.2)  # until the last one listens
    return target


def _chunks(payload: np.ndarray) -> Iterator[bytes]:
    data = memoryview(payload.data)
    for start in range(0, len(data), CHUNK_SIZE):
        yield bytes(data[start : start + CHUNK_SIZE])


# --- the benchmark ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-rounds", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--serve", choices=["host-task", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--proxy", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "floor":
        floor_server()
        return
    if args.serve == "host-task":
        host_task(args.proxy, args.latency_rounds, args.sizes_mb, args.rounds)
        return
    from tests.multiparty.cluster import start_parties

    with tempfile.TemporaryDirectory(prefix="fateflow-bench-") as tmp:
        nodes = start_parties(Path(tmp), [GUEST.party_id, HOST.party_id])
        floor = subprocess.Popen(
            [sys.executable, __file__, "--serve", "floor"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        task = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                "host-task",
                "--proxy",
                nodes[HOST.party_id].local_proxy_address,
                "--latency-rounds",
                str(args.latency_rounds),
                "--rounds",
                str(args.rounds),
                "--sizes-mb",
                *map(str, args.sizes_mb),
            ]
        )
        try:
            assert floor.stdout is not None
            floor_address = f"127.0.0.1:{floor.stdout.readline().strip()}"
            with ExitStack() as stack:
                relayed = relays(stack, floor_address, 2)
                figures = measure(
                    nodes[GUEST.party_id].local_proxy_address, floor_address, relayed, args
                )
        finally:
            task.wait(60)
            assert floor.stdin is not None
            floor.stdin.close()
            floor.wait(30)
            for node in nodes.values():
                node.stop()
    report(figures, args.sizes_mb)


def measure(
    proxy_address: str, floor_address: str, relayed_address: str | None, args: argparse.Namespace
) -> dict[str, object]:
    ping = np.random.default_rng(0).integers(0, 255, LATENCY_BYTES, dtype=np.uint8)
    ours: list[float] = []
    floors: list[float] = []
    through_relays: list[float] = []
    with ExitStack() as stack:
        guest = stack.enter_context(Federation(JOB_ID, "s", GUEST, ROLES, proxy_address))
        channel = stack.enter_context(grpc.insecure_channel(floor_address))
        channels = [channel]  # and the relays' where socat runs
        if relayed_address is not None:
            channels.append(stack.enter_context(grpc.insecure_channel(relayed_address)))
        echoes = [_echo(stack, each) for each in channels]
        for index in range(WARMUP + args.latency_rounds):
            started = time.perf_counter()
            guest.remote(ping, "ping", str(index), [HOST])
            guest.get("pong", str(index), [HOST], TIMEOUT_S)
            ours.append(time.perf_counter() - started)
            for echo, samples in zip(echoes, (floors, through_relays), strict=False):
                started = time.perf_counter()
                echo(ping.tobytes())
                samples.append(time.perf_counter() - started)
        calls = _call_kinds(channel, ping.tobytes(), args.latency_rounds)
        sinks: list[grpc.StreamUnaryMultiCallable[bytes, bytes]] = [
            each.stream_unary("/bench.Floor/Sink") for each in channels
        ]
        throughput: dict[int, tuple[list[float], list[float], list[float], list[float]]] = {}
        for size in args.sizes_mb:
            payload = np.random.default_rng(size).integers(0, 255, size * MB, dtype=np.uint8)
            ours_s, floor_s, stored_s, relayed_s = throughput.setdefault(size, ([], [], [], []))
            for index in range(args.rounds):
                started = time.perf_counter()
                guest.remote(payload, "bulk", f"{size}.{index}", [HOST], TIMEOUT_S)
                stored_s.append(time.perf_counter() - started)  # on the host proxy's disk
                guest.get("ack", f"{size}.{index}", [HOST], TIMEOUT_S)
                ours_s.append(time.perf_counter() - started)
                for sink, samples in zip(sinks, (floor_s, relayed_s), strict=False):
                    started = time.perf_counter()
                    sink(_chunks(payload), metadata=(("size", str(payload.nbytes)),))
                    samples.append(time.perf_counter() - started)
            del payload
    return {
        "latency": (ours[WARMUP:], floors[WARMUP:]),
        "relayed_latency": through_relays[WARMUP:],
        "throughput": throughput,
        "calls": calls,
    }


def _echo(stack: ExitStack, channel: grpc.Channel) -> Callable[[bytes], bytes]:
    """A round trip of one message on one open bidirectional stream, until the stack closes."""
    echo: grpc.StreamStreamMultiCallable[bytes, bytes] = channel.stream_stream("/bench.Floor/Echo")
    outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    replies = echo(iter(outbox.get, b""))  # each message put, until an empty one
    stack.callback(outbox.put, b"")

    def round_trip(message: bytes) -> bytes:
        outbox.put(message)
        return next(replies)

    return round_trip


def _call_kinds(channel: grpc.Channel, message: bytes, rounds: int) -> dict[str, float]:
    """p50 ms of one call of each kind between two processes, with no proxy: what an object
    pays per hop today (a push is a client stream of a header and a chunk, a pull a server
    stream), against a message on a stream already open (what the floor's round trip pays)."""
    call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary("/bench.Floor/Call")
    push: grpc.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary("/bench.Floor/Push")
    pull: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream("/bench.Floor/Pull")
    kinds = {
        "unary": lambda: call(message),
        "client_stream": lambda: push(iter((b"h", message))),
        "server_stream": lambda: list(pull(message)),
    }
    p50s = {}
    for name, make in kinds.items():
        samples = []
        for _ in range(WARMUP + rounds):
            started = time.perf_counter()
            make()
            samples.append(time.perf_counter() - started)
        p50s[name] = round(statistics.median(samples[WARMUP:]) * 1000, 3)
    return p50s


def report(figures: dict[str, object], sizes_mb: list[int]) -> None:
    ours_latency, floor_latency = figures["latency"]  # type: ignore[misc]
    ours_p50 = statistics.median(ours_latency) * 1000
    floor_p50 = statistics.median(floor_latency) * 1000
    print(f"{'measure':<28}{'ours':>12}{'floor':>12}{'ours/floor':>12}")
    print(
        f"{'1 KB round trip p50 (ms)':<28}{ours_p50:>12.3f}{floor_p50:>12.3f}{ours_p50 / floor_p50:>12.2f}"
    )
    relayed: list[float] = figures["relayed_latency"]  # type: ignore[assignment]
    relayed_p50 = statistics.median(relayed) * 1000 if relayed else None
    if relayed_p50 is not None:
        label = "  the floor via 2 C relays"
        print(f"{label:<28}{relayed_p50:>12.3f}{floor_p50:>12.3f}{relayed_p50 / floor_p50:>12.2f}")
    else:
        print("  (socat is not installed: no figure through compiled relays)")
    calls: dict[str, float] = figures["calls"]  # type: ignore[assignment]
    print(
        "one call between two processes, p50 ms: "
        + ", ".join(f"{kind} {ms}" for kind, ms in calls.items())
        + f"; a message on an open stream {floor_p50 / 2:.3f} (half the floor's round trip)"
    )
    rates: dict[str, dict[str, float]] = {}
    for size, (ours_s, floor_s, stored_s, relayed_s) in figures["throughput"].items():  # type: ignore[attr-defined]
        ours_rate = size / statistics.median(ours_s)
        floor_rate = size / statistics.median(floor_s)
        stored_rate = size / statistics.median(stored_s)
        rates[f"{size}MB"] = {
            "ours_mb_s": round(ours_rate, 1),
            "floor_mb_s": round(floor_rate, 1),
            "to_receiving_proxy_mb_s": round(stored_rate, 1),
        }
        lines = [
            (f"{size} MB task->task (MB/s)", ours_rate),
            (f"{size} MB task->proxy (MB/s)", stored_rate),
        ]
        if relayed_s:
            relayed_rate = size / statistics.median(relayed_s)
            rates[f"{size}MB"]["floor_via_c_relays_mb_s"] = round(relayed_rate, 1)
            lines.append(("  the floor via 2 C relays", relayed_rate))
        for label, rate in lines:
            print(f"{label:<28}{rate:>12.1f}{floor_rate:>12.1f}{rate / floor_rate:>12.2f}")
    ratios = [r["ours_mb_s"] / r["floor_mb_s"] for r in rates.values()]
    print(
        json.dumps(
            {
                "latency_p50_ms": round(ours_p50, 3),
                "floor_latency_p50_ms": round(floor_p50, 3),
                "latency_ratio_p50": round(ours_p50 / floor_p50, 2),
                "floor_via_c_relays_p50_ms": relayed_p50 and round(relayed_p50, 3),
                "throughput": rates,
                "throughput_ratio": round(min(ratios), 3),
                "call_p50_ms": calls,
            }
        )
    )


if __name__ == "__main__":
    main()
