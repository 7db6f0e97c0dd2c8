"""Outbound event delivery: signed webhooks to a real local HTTP receiver, one sweep against two at once.

Writes ``-n`` (default 500) events for two webhook subscribers through the engine's own API, then delivers
them with ``deliver_events()``: once by one sweep, and (on a fresh copy) by two sweeps started together in
threads.  The receiver is an ``http.server`` on 127.0.0.1 that checks each HMAC signature (a bad one is a
403, counted) and counts each (event id, subscriber).  The rate is deliveries per second of wall time;
side by side in one run, on SQLite (a file, WAL) and on PostgreSQL (``--postgres``, default ``DATABASE_URL``;
``--postgres ''`` skips it).

    python bench/outbound_delivery.py [-n 500] [--postgres URL]

Last line: ``RESULT sqlite_two_over_one=<x> postgres_two_over_one=<y> duplicates=<d> bad_signatures=<b>``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import ProcessEngine, Registry  # noqa: E402
from engine.db import Base  # noqa: E402
from engine.outbound import WebhookSubscriber, verify  # noqa: E402
from engine.testing import create_sa_engine, new_session_factory, throwaway_database, truncate_all  # noqa: E402

SECRETS = {"bank": "bank-secret", "tax": "tax-secret"}


class Receiver(BaseHTTPRequestHandler):
    seen: Counter = Counter()
    bad = 0
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        name = self.path.strip("/")
        ok = verify(SECRETS[name], body, self.headers["X-Netsign-Timestamp"], self.headers["X-Netsign-Signature"],
                    datetime.now(timezone.utc))
        with Receiver.lock:
            if ok:
                Receiver.seen[(self.headers["Idempotency-Key"], name)] += 1
            else:
                Receiver.bad += 1
        self.send_response(200 if ok else 403)
        self.end_headers()

    def log_message(self, *args):
        pass


def _run(url: str, port: int, n: int, sweeps: int) -> float:
    sa_engine = create_sa_engine(url)
    Base.metadata.create_all(sa_engine)
    truncate_all(sa_engine)
    factory = new_session_factory(sa_engine)
    engine = ProcessEngine(factory, Registry(), subscribers=[
        WebhookSubscriber(name, f"http://127.0.0.1:{port}/{name}", secret) for name, secret in SECRETS.items()])
    with engine.transaction() as session:
        for i in range(n):
            engine.emit(session, "contract_filed", {"contract_no": f"ZS{i:08d}"}, business_key=f"ZS{i:08d}")
    factory.remove()
    Receiver.seen.clear()

    def sweep():
        engine.deliver_events(limit=10 * n)
        factory.remove()

    threads = [threading.Thread(target=sweep) for _ in range(sweeps)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    sa_engine.dispose()
    assert len(Receiver.seen) == 2 * n, f"delivered {len(Receiver.seen)} of {2 * n}"
    return 2 * n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    duplicates, ratios = 0, {}
    print(f"{'database':<12}{'one sweep /s':>14}{'two sweeps /s':>15}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as folder:
        databases = [("sqlite", f"sqlite:///{folder}/bench.db")]
        if args.postgres:
            databases.append(("postgres", None))
        for name, url in databases:
            if url is None:
                with throwaway_database(args.postgres) as pg_url:
                    one = _run(pg_url, port, args.n, 1)
                    two = _run(pg_url, port, args.n, 2)
                    duplicates += sum(c - 1 for c in Receiver.seen.values())
            else:
                one = _run(url, port, args.n, 1)
                two = _run(url, port, args.n, 2)
                duplicates += sum(c - 1 for c in Receiver.seen.values())
            ratios[name] = two / one
            print(f"{name:<12}{one:>14.1f}{two:>15.1f}{two / one:>8.2f}")
    server.shutdown()
    pg = f"{ratios['postgres']:.2f}" if "postgres" in ratios else "skipped"
    print(f"RESULT sqlite_two_over_one={ratios['sqlite']:.2f} postgres_two_over_one={pg} "
          f"duplicates={duplicates} bad_signatures={Receiver.bad}")


if __name__ == "__main__":
    main()
