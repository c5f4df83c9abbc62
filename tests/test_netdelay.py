"""The benchmark's network-hop proxy forwards PostgreSQL's protocol faithfully and delays it.

Against the real server of the tests: rows, a result of several MB and a COPY in both
directions come back through the proxy as they do directly. The delay is asserted as a
loose lower bound only (a loaded machine makes round trips slower, never faster than the
delay), and through the proxy's own accounting.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator

import pytest

from backfill_tools.bench.netdelay import DelayProxy, measure_round_trips, proxy_process
from backfill_tools.db.server import Server

DELAY_MS = 1.0
LARGE_ROWS = 50_000  # about 5 MB of text


@pytest.fixture
def proxy(pg_server: Server) -> Iterator[DelayProxy]:
    with DelayProxy.for_server(pg_server, DELAY_MS) as running:
        yield running


def _large_result(server: Server) -> list[tuple[int, str]]:
    with server.connection("postgres") as conn, conn.cursor() as cur:
        cur.execute(
            "select g, repeat(md5(g::text), 3) from generate_series(1, %s) as g order by g",
            (LARGE_ROWS,),
        )
        return cur.fetchall()


def test_a_query_through_the_proxy_returns_its_rows(pg_server: Server, proxy: DelayProxy) -> None:
    with proxy.server(pg_server).connection("postgres") as conn, conn.cursor() as cur:
        cur.execute("select %s::int + 1, current_database(), 'é€'", (41,))
        assert cur.fetchall() == [(42, "postgres", "é€")]
    assert proxy.stats.connections == 1


def test_a_large_result_comes_through_whole(pg_server: Server, proxy: DelayProxy) -> None:
    through = _large_result(proxy.server(pg_server))
    assert len(through) == LARGE_ROWS
    assert through == _large_result(pg_server)
    assert proxy.stats.bytes > 5_000_000


def test_copy_in_and_out_through_the_proxy(pg_server: Server, proxy: DelayProxy) -> None:
    lines = "".join(f"{n}\t{hashlib.sha256(str(n).encode()).hexdigest()}\n" for n in range(40_000))
    with proxy.server(pg_server).connection("postgres") as conn, conn.cursor() as cur:
        cur.execute("create temporary table copied (n int, digest text)")
        cur.copy_expert("copy copied from stdin", io.StringIO(lines))
        cur.execute("select count(*), sum(n) from copied")
        assert cur.fetchone() == (40_000, sum(range(40_000)))
        out = io.StringIO()
        cur.copy_expert("copy (select * from copied order by n) to stdout", out)
    assert out.getvalue() == lines


def test_round_trips_through_the_proxy_pay_the_delay(pg_server: Server, proxy: DelayProxy) -> None:
    trips = measure_round_trips(pg_server, proxy.server(pg_server), queries=200, blocks=4)
    # each round trip waits at least the delay; only a loose lower bound (no upper bound:
    # a busy machine is slower, never faster)
    assert trips.added_ms >= 0.5 * DELAY_MS
    # the proxy's own accounting: every chunk was held at least half the delay (one way)
    assert proxy.stats.chunks >= 2 * 200
    assert proxy.stats.held_seconds >= proxy.stats.chunks * DELAY_MS / 2000 * 0.99


def test_the_proxy_process_forwards_and_delays(pg_server: Server) -> None:
    with proxy_process(pg_server, DELAY_MS) as proxy:
        with proxy.server.connection("postgres") as conn, conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
        before = proxy.stats()
        trips = measure_round_trips(pg_server, proxy.server, queries=200, blocks=4)
        after = proxy.stats()
    assert trips.added_ms >= 0.5 * DELAY_MS
    # 200 queries and the warm-up of each block's connection: at least one request each
    assert after["requests"] - before["requests"] >= 200
    assert after["connections"] - before["connections"] == 4


def test_closed_connections_leave_no_thread_behind(pg_server: Server, proxy: DelayProxy) -> None:
    threads = threading.active_count()
    for _ in range(5):
        with proxy.server(pg_server).connection("postgres") as conn, conn.cursor() as cur:
            cur.execute("select 1")
    # each connection's 5 threads end once both sides have closed (polled: no upper bound
    # on how soon)
    deadline = time.monotonic() + 30
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads
