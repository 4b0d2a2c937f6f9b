#!/usr/bin/env python3
"""Fan-out harness of scripts/bench-fanout: K followers parked on one server, one change, the time
from the change's send to each follower's copy of it.

The same harness drives both servers: asyncio protocols (no per-message Python streams), K
connections opened a few hundred at a time, one publisher connection opened beforehand so that the
clock measures the fan-out, not a connect. Loopback only; every wait is bounded.

  fanout.py ours  --port P --metrics-port M --pid PID --k K
  fanout.py redis --port P --pid PID --k K
prints one JSON object with the figures.
"""
import argparse
import asyncio
import json
import struct
import sys
import time
import urllib.request

HOST = "127.0.0.1"
CONNECT_PARALLEL = 256


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round((len(sorted_values) - 1) * p)))]


# ---- our protocol (Protocol/PROTOCOL.md) ----

T_HELLO, T_PULL, T_PUSH = 0x01, 0x02, 0x03
T_WELCOME, T_BATCH, T_CAUGHT_UP, T_PUSH_RESULT, T_ERROR = 0x81, 0x82, 0x83, 0x85, 0x7F
FEATURES_ALL = 0b11


def frame(message_type, payload):
    return struct.pack(">IBB", len(payload) + 2, message_type, 0) + payload


def hello():
    agent = b"bench-fanout"
    return frame(T_HELLO, b"ASYN" + struct.pack(">HHQH", 1, 1, FEATURES_ALL, 0) + struct.pack(">B", len(agent)) + agent)


def pull(store_id, since, wait_millis):
    return frame(T_PULL, store_id + struct.pack(">QIIB", since, 0, wait_millis, 1))


def push(article_id, source):
    ident = article_id.encode()
    entry = struct.pack(">BB", 1, len(ident)) + ident + struct.pack(">QI", 0, len(source)) + source
    return frame(T_PUSH, struct.pack(">I", 1) + entry)


class Frames(asyncio.Protocol):
    """Splits the stream into frames; `on_frame(type, payload)` gets each."""

    def __init__(self):
        self.buffer = bytearray()
        self.transport = None
        self.lost = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while len(self.buffer) >= 4:
            (length,) = struct.unpack_from(">I", self.buffer)
            if len(self.buffer) < 4 + length:
                return
            message_type = self.buffer[4]
            payload = bytes(self.buffer[6:4 + length])
            del self.buffer[:4 + length]
            self.on_frame(message_type, payload)

    def connection_lost(self, exc):
        self.lost = exc or ConnectionResetError("closed")


class Follower(Frames):
    def __init__(self, loop):
        super().__init__()
        self.welcome = loop.create_future()
        self.batch_at = loop.create_future()
        self.caught_up = loop.create_future()

    def on_frame(self, message_type, payload):
        now = time.perf_counter()
        if message_type == T_WELCOME and not self.welcome.done():
            self.welcome.set_result(payload)
        elif message_type == T_BATCH and not self.batch_at.done():
            self.batch_at.set_result(now)
        elif message_type == T_CAUGHT_UP and not self.caught_up.done():
            self.caught_up.set_result(now)
        elif message_type == T_ERROR:
            for future in (self.welcome, self.batch_at, self.caught_up):
                if not future.done():
                    future.set_exception(RuntimeError("server ERROR: %r" % payload[:200]))

    def connection_lost(self, exc):
        super().connection_lost(exc)
        for future in (self.welcome, self.batch_at, self.caught_up):
            if not future.done():
                future.set_exception(RuntimeError("connection lost"))


class Pusher(Frames):
    def __init__(self, loop):
        super().__init__()
        self.welcome = loop.create_future()
        self.result = loop.create_future()

    def on_frame(self, message_type, payload):
        if message_type == T_WELCOME and not self.welcome.done():
            self.welcome.set_result(payload)
        elif message_type == T_PUSH_RESULT and not self.result.done():
            self.result.set_result(payload)
        elif message_type == T_ERROR:
            for future in (self.welcome, self.result):
                if not future.done():
                    future.set_exception(RuntimeError("server ERROR: %r" % payload[:200]))


def metrics(port):
    text = urllib.request.urlopen("http://%s:%d/metrics" % (HOST, port), timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


def article_source(n):
    body = " ".join(["Die Gemeinde berät über den Haushalt und die Straßen der Stadt."] * 40)
    return ("Veröffentlichungsdatum: 01.03.2025 12:00 / Fanout\n\nEilmeldung %d\n\nEilmeldung %d\n\n%s\n" % (n, n, body)).encode()


async def connect_all(k, factory, ready):
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECT_PARALLEL)
    protocols = []

    async def one():
        async with gate:
            _, protocol = await loop.create_connection(factory, HOST, ARGS.port)
            protocols.append(protocol)
            await ready(protocol)

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(k))), timeout=ARGS.phase_timeout)
    return protocols


async def run_ours():
    loop = asyncio.get_running_loop()
    base_rss = rss_kib(ARGS.pid)
    before = metrics(ARGS.metrics_port)

    async def ready(follower):
        follower.transport.write(hello())
        welcome = await follower.welcome
        store_id = welcome[10:26]
        (head,) = struct.unpack_from(">Q", welcome, 26)
        follower.transport.write(pull(store_id, head, 300_000))

    followers = await connect_all(ARGS.k, lambda: Follower(loop), ready)
    deadline = time.monotonic() + ARGS.phase_timeout
    while metrics(ARGS.metrics_port).get("articlesync_long_polls_waiting", 0) < ARGS.k:
        if time.monotonic() > deadline:
            raise RuntimeError("not all %d followers parked within %d s" % (ARGS.k, ARGS.phase_timeout))
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    parked_rss = rss_kib(ARGS.pid)
    parked = metrics(ARGS.metrics_port)

    _, pusher = await loop.create_connection(lambda: Pusher(loop), HOST, ARGS.port)
    pusher.transport.write(hello())
    await asyncio.wait_for(pusher.welcome, 10)
    quiet = metrics(ARGS.metrics_port)
    started = time.perf_counter()
    pusher.transport.write(push("fanout-%d-%d" % (ARGS.k, int(time.time() * 1000)), article_source(ARGS.k)))
    await asyncio.wait_for(asyncio.gather(*(f.caught_up for f in followers)), timeout=ARGS.phase_timeout)
    await asyncio.wait_for(pusher.result, 10)
    after = metrics(ARGS.metrics_port)
    latencies = sorted((f.batch_at.result() - started) for f in followers)
    for f in followers:
        f.transport.close()
    pusher.transport.close()
    wake_ups = after.get("articlesync_wakeups_total", 0) - quiet.get("articlesync_wakeups_total", 0)
    reads = after.get("articlesync_store_reads_total", 0) - quiet.get("articlesync_store_reads_total", 0)
    return {
        "k": ARGS.k,
        "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "max": latencies[-1],
        "bytes_per_follower": (parked_rss - base_rss) * 1024 / ARGS.k,
        "wake_ups": wake_ups,
        "store_reads_per_wake_up": reads / wake_ups if wake_ups else float("nan"),
        "tail_reads": after.get("articlesync_tail_reads_total", 0) - quiet.get("articlesync_tail_reads_total", 0),
        "parking_store_reads": parked.get("articlesync_store_reads_total", 0) - before.get("articlesync_store_reads_total", 0),
    }


class Subscriber(Frames):
    def __init__(self, loop):
        super().__init__()
        self.subscribed = loop.create_future()
        self.message_at = loop.create_future()
        self.expect = None

    def data_received(self, data):
        now = time.perf_counter()
        self.buffer += data
        if not self.subscribed.done():
            # *3\r\n$9\r\nsubscribe\r\n$7\r\nfanout\r\n:1\r\n
            end = self.buffer.find(b":1\r\n")
            if end < 0:
                return
            del self.buffer[:end + 4]
            self.subscribed.set_result(True)
        if self.expect is not None and len(self.buffer) >= self.expect and not self.message_at.done():
            self.message_at.set_result(now)

    def connection_lost(self, exc):
        for future in (self.subscribed, self.message_at):
            if not future.done():
                future.set_exception(RuntimeError("connection lost"))


def resp(*parts):
    out = b"*%d\r\n" % len(parts)
    for part in parts:
        out += b"$%d\r\n%s\r\n" % (len(part), part)
    return out


async def run_redis():
    loop = asyncio.get_running_loop()
    base_rss = rss_kib(ARGS.pid)
    payload = article_source(ARGS.k)
    message = resp(b"message", b"fanout", payload)

    async def ready(subscriber):
        subscriber.transport.write(resp(b"SUBSCRIBE", b"fanout"))
        await subscriber.subscribed
        subscriber.expect = len(message)

    subscribers = await connect_all(ARGS.k, lambda: Subscriber(loop), ready)
    await asyncio.sleep(0.5)
    parked_rss = rss_kib(ARGS.pid)
    reader, writer = await asyncio.open_connection(HOST, ARGS.port)
    writer.write(resp(b"PING"))
    await writer.drain()
    await asyncio.wait_for(reader.readline(), 10)
    started = time.perf_counter()
    writer.write(resp(b"PUBLISH", b"fanout", payload))
    await writer.drain()
    await asyncio.wait_for(asyncio.gather(*(s.message_at for s in subscribers)), timeout=ARGS.phase_timeout)
    latencies = sorted((s.message_at.result() - started) for s in subscribers)
    for s in subscribers:
        s.transport.close()
    writer.close()
    return {
        "k": ARGS.k,
        "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "max": latencies[-1],
        "bytes_per_follower": (parked_rss - base_rss) * 1024 / ARGS.k,
    }


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("server", choices=["ours", "redis"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--phase-timeout", type=int, default=120)
    ARGS = parser.parse_args()
    if not 1 <= ARGS.k <= 20_000:
        sys.exit("fanout.py: --k must be between 1 and 20000")
    figures = asyncio.run(run_ours() if ARGS.server == "ours" else run_redis())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
