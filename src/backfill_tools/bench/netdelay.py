"""A local TCP proxy that makes each round trip to PostgreSQL cost a network hop.

Users' databases are rarely on the machine that runs dbt: every statement, every catalog
query and every per-row update then pays a round trip. `DelayProxy` listens on
127.0.0.1 (a free port), forwards every connection to the server and delivers each chunk
it reads `one_way` seconds after it arrived, in each direction: a client -> server ->
client round trip costs `2 * one_way` more, i.e. `delay_ms`.

Each direction of a connection is a delayed-delivery queue: a reader thread stamps every
chunk with its delivery time and queues it at once; a writer thread sends the chunks in
order, each when its time comes. Reading never waits for delivery, so a bulk transfer
(a COPY, a large result) streams at full speed, only shifted by the delay: the proxy
adds latency, not a bandwidth limit. Threads (not asyncio): `time.sleep` wakes within
tens of microseconds, where the event loop's epoll timeout rounds to whole milliseconds.

`python -m backfill_tools.bench.netdelay --target HOST:PORT --delay-ms 1` runs it as its
own process (the benchmark does, so that the proxy never competes with the per-row
script for the GIL) and prints `listening 127.0.0.1:<port>`, then answers each `stats`
line on its stdin with its `DelayStats` as JSON; `--measure N` instead times N
`select 1` directly and through the proxy.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from backfill_tools.db.server import Server

CHUNK_BYTES = 65536
# Chunks in flight per direction before the reader waits (backpressure): 16 MiB, far more
# than one millisecond of loopback traffic, so the bound never throttles.
MAX_QUEUED_CHUNKS = 256
LISTEN_HOST = "127.0.0.1"
_END = b""


@dataclass
class DelayStats:
    """The proxy's own accounting, summed over every direction of every connection."""

    connections: int = 0
    chunks: int = 0
    # chunks sent client -> server: about one per round trip a client waits for (a request
    # that fits one read; a COPY or a long statement counts more)
    requests: int = 0
    bytes: int = 0
    # seconds between a chunk's arrival and the moment it was sent on
    held_seconds: float = 0.0
    # seconds a chunk was sent after its delivery time (the proxy's own lateness)
    late_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def connected(self) -> None:
        with self._lock:
            self.connections += 1

    def add(self, size: int, held: float, late: float, request: bool) -> None:
        with self._lock:
            self.chunks += 1
            self.requests += request
            self.bytes += size
            self.held_seconds += held
            self.late_seconds += late

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {
                "connections": self.connections,
                "chunks": self.chunks,
                "requests": self.requests,
                "bytes": self.bytes,
                "held_seconds": self.held_seconds,
                "late_seconds": self.late_seconds,
            }

    def mean_held_ms(self) -> float:
        return 1000 * self.held_seconds / self.chunks if self.chunks else 0.0


def _nodelay(sock: socket.socket) -> None:
    """No Nagle: a small chunk leaves when the proxy sends it, as libpq's own socket does."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Direction:
    """One direction of one connection: read, stamp, queue; deliver each chunk on time."""

    def __init__(
        self,
        source: socket.socket,
        sink: socket.socket,
        delay: float,
        stats: DelayStats,
        request: bool,
    ) -> None:
        self.source, self.sink, self.delay, self.stats = source, sink, delay, stats
        self.request = request  # client -> server
        self.chunks: queue.Queue[tuple[float, bytes]] = queue.Queue(MAX_QUEUED_CHUNKS)
        self.threads = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._deliver, daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def _read(self) -> None:
        try:
            while data := self.source.recv(CHUNK_BYTES):
                self.chunks.put((time.monotonic(), data))
        except OSError:
            pass
        self.chunks.put((time.monotonic(), _END))

    def _deliver(self) -> None:
        try:
            while True:
                arrived, data = self.chunks.get()
                due = arrived + self.delay
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if data == _END:  # pass the end on (the peer may be gone already)
                    with suppress(OSError):
                        self.sink.shutdown(socket.SHUT_WR)
                    return
                self.sink.sendall(data)
                sent = time.monotonic()
                self.stats.add(len(data), sent - arrived, max(0.0, sent - due), self.request)
        except OSError:
            # the other side is gone: unblock this connection's readers, discard the rest
            for sock in (self.source, self.sink):
                _shutdown(sock)
            while self.chunks.get()[1] != _END:
                pass


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class DelayProxy:
    """Forwards 127.0.0.1:`port` to `target`, each direction delayed by `delay_ms / 2`."""

    def __init__(self, target_host: str, target_port: int, delay_ms: float) -> None:
        self.target_host, self.target_port = target_host, target_port
        self.delay_ms = delay_ms
        self.one_way = delay_ms / 2000
        self.stats = DelayStats()
        self.listener = socket.create_server((LISTEN_HOST, 0))
        self.port = int(self.listener.getsockname()[1])
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    @classmethod
    def for_server(cls, server: Server, delay_ms: float) -> DelayProxy:
        host = server.env.get("PGHOST", LISTEN_HOST)
        return cls(host, int(server.env.get("PGPORT", "5432")), delay_ms)

    def server(self, behind: Server) -> Server:
        """`behind` (the server this proxy forwards to) as reached through the proxy."""
        return proxied_server(behind, self.port)

    def start(self) -> DelayProxy:
        self._accepting.start()
        return self

    def close(self) -> None:
        _shutdown(self.listener)
        self.listener.close()

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect_upstream(self) -> socket.socket:
        if self.target_host.startswith("/"):  # a libpq socket directory
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(f"{self.target_host}/.s.PGSQL.{self.target_port}")
            return upstream
        return socket.create_connection((self.target_host, self.target_port))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            try:
                upstream = self._connect_upstream()
            except OSError:
                return
            with upstream:
                for sock in (client, upstream):
                    _nodelay(sock)
                self.stats.connected()
                directions = [
                    _Direction(client, upstream, self.one_way, self.stats, request=True),
                    _Direction(upstream, client, self.one_way, self.stats, request=False),
                ]
                for direction in directions:
                    direction.start()
                for direction in directions:
                    direction.join()


def proxied_server(behind: Server, port: int) -> Server:
    """The PG* variables of `behind`, with the host and port of a proxy in front of it."""
    return Server({**behind.env, "PGHOST": LISTEN_HOST, "PGPORT": str(port)})


@dataclass
class ProxyProcess:
    """A `DelayProxy` running in a child process: the server through it, and its stats."""

    server: Server
    process: subprocess.Popen

    def stats(self) -> dict[str, float]:
        """The proxy's `DelayStats` so far (summed over every connection)."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))


@contextmanager
def proxy_process(behind: Server, delay_ms: float) -> Iterator[ProxyProcess]:
    """A `DelayProxy` in its own Python process in front of `behind`."""
    host = behind.env.get("PGHOST", LISTEN_HOST)
    port = behind.env.get("PGPORT", "5432")
    process = subprocess.Popen(
        [sys.executable, "-m", __name__, "--target", f"{host}:{port}", "--delay-ms", str(delay_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("listening "):
            raise RuntimeError(f"the delay proxy did not start: {line!r}")
        yield ProxyProcess(proxied_server(behind, int(line.rsplit(":", 1)[1])), process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class RoundTrips:
    """Mean milliseconds per `select 1`, directly and through the proxy."""

    queries: int
    direct_ms: float
    proxied_ms: float

    @property
    def added_ms(self) -> float:
        return self.proxied_ms - self.direct_ms


def _select_one_ms(server: Server, queries: int) -> float:
    with server.connection("postgres") as conn, conn.cursor() as cur:
        conn.autocommit = True
        for _ in range(20):  # warm up the connection and the plan cache
            cur.execute("select 1")
            cur.fetchone()
        started = time.perf_counter()
        for _ in range(queries):
            cur.execute("select 1")
            cur.fetchone()
        return 1000 * (time.perf_counter() - started) / queries


def measure_round_trips(
    direct: Server, proxied: Server, queries: int = 1000, blocks: int = 10
) -> RoundTrips:
    """`queries` round trips each way, in alternating blocks so both share the load."""
    per_block = max(1, queries // blocks)
    direct_ms = proxied_ms = 0.0
    for _ in range(blocks):
        direct_ms += _select_one_ms(direct, per_block)
        proxied_ms += _select_one_ms(proxied, per_block)
    return RoundTrips(per_block * blocks, direct_ms / blocks, proxied_ms / blocks)


def _target(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or LISTEN_HOST, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backfill_tools.bench.netdelay")
    parser.add_argument("--target", required=True, help="HOST:PORT of the PostgreSQL server")
    parser.add_argument("--delay-ms", type=float, default=1.0, help="added per round trip")
    parser.add_argument(
        "--measure", type=int, default=0, metavar="N", help="time N `select 1` and exit"
    )
    args = parser.parse_args(argv)
    host, port = _target(args.target)
    with DelayProxy(host, port, args.delay_ms) as proxy:
        if args.measure:
            behind = Server.from_environment()
            behind = Server({**behind.env, "PGHOST": host, "PGPORT": str(port)})
            trips = measure_round_trips(behind, proxy.server(behind), args.measure)
            print(
                f"{trips.queries} x select 1: {trips.direct_ms:.3f} ms direct,"
                f" {trips.proxied_ms:.3f} ms through the proxy"
                f" (+{trips.added_ms:.3f} ms per round trip; configured {args.delay_ms:g} ms)"
            )
            return 0
        print(f"listening {LISTEN_HOST}:{proxy.port}", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        for command in sys.stdin:  # until the parent closes our stdin or terminates us
            if command.strip() == "stats":
                print(json.dumps(proxy.stats.as_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
