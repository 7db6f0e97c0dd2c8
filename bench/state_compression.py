"""Does compressing the stored state pay?  Size and step-path cost side by side, per database.

Takes real instance states (the online-signing flow at the signing stage, made by the
engine with the stub handlers of ``bench/engine_throughput.py``) and, for each codec,
measures in one run:

* the stored size per instance (what the database holds: on PostgreSQL ``pg_column_size``,
  which counts TOAST's own compression of plain text);
* the cost of what a step does with its state: encode + ``UPDATE`` + commit, and on a
  cache miss ``SELECT`` + decode, as a median over ``-n`` writes and reads, rounds alternating
  codecs so that machine noise hits all of them.

Codecs: ``plain`` (the JSON text, as stored today), ``zlib-1``, ``zlib-6``, ``zstd-3`` (if the
``zstandard`` package is installed), compressed bytes stored base64-free in a ``LargeBinary``
column of a scratch table.

    python bench/state_compression.py [-n 300] [--postgres URL]

Last line: ``RESULT sqlite_best=<codec>:<size ratio>/<cost ratio> postgres_best=…``.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

from engine.testing import create_sa_engine, throwaway_database  # noqa: E402
from loop_rounds import Database  # noqa: E402

try:
    import zstandard  # noqa: E402
except ImportError:  # pragma: no cover - optional
    zstandard = None

CODECS = {
    "plain": (None, None),
    "zlib-1": (lambda b: zlib.compress(b, 1), zlib.decompress),
    "zlib-6": (lambda b: zlib.compress(b, 6), zlib.decompress),
}
if zstandard is not None:
    _zc, _zd = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    CODECS["zstd-3"] = (_zc.compress, _zd.decompress)


def sample_states(count: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/s.db")
        engine = db.engines["warm"]
        ids = [db.start(engine)[0] for _ in range(count)]
        with db.sa_engine.connect() as conn:
            states = [conn.scalar(sa.text("SELECT state FROM process_instance WHERE id = :i"), {"i": i}) for i in ids]
        db.close()
    return states


class Store:
    def __init__(self, url: str, states: list[str]):
        self.engine = create_sa_engine(url)
        self.dialect = self.engine.dialect.name
        meta = sa.MetaData()
        self.plain = sa.Table("bench_plain", meta, sa.Column("id", sa.Integer, primary_key=True),
                              sa.Column("state", sa.Text))
        self.packed = sa.Table("bench_packed", meta, sa.Column("id", sa.Integer, primary_key=True),
                               sa.Column("state", sa.LargeBinary))
        meta.drop_all(self.engine)
        meta.create_all(self.engine)
        self.states = states

    def fill(self, codec: str) -> None:
        encode, _ = CODECS[codec]
        table = self.plain if encode is None else self.packed
        with self.engine.begin() as conn:
            conn.execute(table.delete())
            conn.execute(table.insert(), [{"id": i, "state": s if encode is None else encode(s.encode())}
                                          for i, s in enumerate(self.states)])

    def stored_bytes(self, codec: str) -> float:
        table = "bench_plain" if CODECS[codec][0] is None else "bench_packed"
        size = "pg_column_size(state)" if self.dialect == "postgresql" else "length(state)"
        with self.engine.connect() as conn:
            return float(conn.scalar(sa.text(f"SELECT avg({size}) FROM {table}")))

    def step_cost(self, codec: str, n: int) -> float:
        """Median seconds of write (encode, UPDATE, commit) + read (SELECT, decode) of one state."""
        encode, decode = CODECS[codec]
        table = self.plain if encode is None else self.packed
        costs = []
        for k in range(n):
            index = k % len(self.states)
            state = self.states[index]
            started = time.perf_counter()
            with self.engine.begin() as conn:
                value = state if encode is None else encode(state.encode())
                conn.execute(table.update().where(table.c.id == index).values(state=value))
            with self.engine.connect() as conn:
                raw = conn.scalar(sa.select(table.c.state).where(table.c.id == index))
                text = raw if decode is None else decode(raw).decode()
            costs.append(time.perf_counter() - started)
            assert len(text) == len(state)
        return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300, help="writes and reads per codec and round (default 300)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instances", type=int, default=20, help="sample states (default 20)")
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL server for a throwaway database; an empty value skips PostgreSQL")
    args = parser.parse_args()
    states = sample_states(args.instances)
    plain_chars = statistics.mean(len(s.encode()) for s in states)
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder, \
            (throwaway_database(args.postgres) if args.postgres else contextlib.nullcontext()) as pg_url:
        urls = {"sqlite": f"sqlite:///{folder}/c.db", **({"postgres": pg_url} if pg_url else {})}
        for name, url in urls.items():
            store = Store(url, states)
            sizes, costs = {}, {c: [] for c in CODECS}
            for codec in CODECS:
                store.fill(codec)
                sizes[codec] = store.stored_bytes(codec)
            for _ in range(args.rounds):
                for codec in CODECS:
                    costs[codec].append(store.step_cost(codec, args.n))
            results[name] = {c: (sizes[c], statistics.median(costs[c])) for c in CODECS}
            store.engine.dispose()
    print(f"state of an online-signing instance at the signing stage: {plain_chars / 1024:.1f} KB of JSON "
          f"({len(states)} instances)")
    print(f"{'database':9} {'codec':7} {'stored':>9} {'size':>6} {'write+read':>11} {'cost':>6}")
    best = {}
    for name, by_codec in results.items():
        base_size, base_cost = by_codec["plain"]
        for codec, (size, cost) in by_codec.items():
            print(f"{name:9} {codec:7} {size / 1024:7.1f}KB {size / base_size:6.2f} {cost * 1000:9.3f}ms "
                  f"{cost / base_cost:6.2f}")
        codec = min((c for c in by_codec if c != "plain"), key=lambda c: by_codec[c][0] * by_codec[c][1])
        best[name] = f"{codec}:{by_codec[codec][0] / base_size:.2f}/{by_codec[codec][1] / base_cost:.2f}"
    print("RESULT " + " ".join(f"{name}_best={value}" for name, value in best.items()))


if __name__ == "__main__":
    main()
