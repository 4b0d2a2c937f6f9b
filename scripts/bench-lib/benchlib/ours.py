"""articlesyncd and articlesync, driven and measured the way the rsync side is."""

import os
import re
import subprocess
import time

from . import proc

CLOSED = re.compile(r"connection closed peer=\S+ bytesIn=(\d+) bytesOut=(\d+)")
ACCEPTED = "connection accepted"


class Binaries:
    def __init__(self, bin_dir):
        self.server = os.path.join(bin_dir, "articlesyncd")
        self.client = os.path.join(bin_dir, "articlesync")
        for path in (self.server, self.client):
            if not os.access(path, os.X_OK):
                raise RuntimeError("%s is missing: build it with `swift build -c release --scratch-path "
                                   ".build-release --product %s`" % (path, os.path.basename(path)))


def import_corpus(bins, store, corpus, log_path, delete_missing=False, timeout=3600):
    """`articlesyncd import`; a dict with wall, CPU, peak memory and the store's size on disk."""
    argv = [bins.server, "import", "--store", store]
    if delete_missing:
        argv.append("--delete-missing")
    argv.append(corpus)
    with open(log_path, "ab") as log:
        m = proc.run_measured(argv, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
    if m.returncode != 0:
        raise RuntimeError("%s failed (exit %d); see %s" % (" ".join(argv), m.returncode, log_path))
    size = sum(os.path.getsize(store + suffix) for suffix in ("", "-wal", "-shm") if os.path.exists(store + suffix))
    return {"wall": m.wall, "cpu": m.cpu, "peak_mb": m.peak_mb, "store_bytes": size}


def copy_store(src, dst):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.unlink(dst + suffix)
        if os.path.exists(src + suffix):
            subprocess.run(["cp", "--reflink=auto", src + suffix, dst + suffix], check=True)


class Server:
    """`articlesyncd serve --port 0`, its stderr in a log file we read connection totals from."""

    def __init__(self, bins, store, log_path):
        self.bins = bins
        self.store = store
        self.log_path = log_path
        self.process = None
        self.address = None
        self.peak_resettable = True

    def __enter__(self):
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.bins.server, "serve", "--store", self.store, "--host", "127.0.0.1", "--port", "0",
             "--max-connections", "256", "--log-level", "debug"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log)
        try:
            m = proc.read_line(self.process.stdout, r"listening on (\S+:\d+)", 300, "articlesyncd serve")
        except Exception:
            proc.stop(self.process)
            raise RuntimeError("articlesyncd serve did not start; see %s" % self.log_path)
        self.address = m.group(1)
        return self

    def __exit__(self, *exc):
        proc.stop(self.process)
        self._log.close()

    def _log_offset(self):
        self._log.flush()
        return os.path.getsize(self.log_path)

    def _connections_since(self, offset):
        """(accepted count, [(bytesIn, bytesOut)] of closed ones) logged after offset."""
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        return text.count(ACCEPTED), [(int(a), int(b)) for a, b in CLOSED.findall(text)]

    def measure(self, run, connections=1, timeout=60, at_least=None):
        """Run `run()` (which starts and waits for clients); the server's share of the cost:
        CPU delta, peak RSS during it, and wire bytes of the connections it closed."""
        pid = self.process.pid
        offset = self._log_offset()
        self.peak_resettable = proc.reset_peak(pid) and self.peak_resettable
        cpu_before = proc.cpu_seconds(pid)
        result = run()
        if at_least is not None:
            connections = at_least(result)
        # A client may open more than one connection (a dictionary fetch has its own). Each was
        # accepted (debug log) before it was served, so once the clients are gone the accepted
        # count is final; the server logs a connection's totals a moment after it closed it.
        def settled():
            accepted, closed = self._connections_since(offset)
            return closed if accepted >= connections and len(closed) >= accepted else None

        closed = proc.wait_for(settled, timeout, "articlesyncd to log the close of every connection")
        cpu_after = proc.cpu_seconds(pid)
        if self.process.poll() is not None:
            raise RuntimeError("articlesyncd exited during the run; see %s" % self.log_path)
        return result, {
            "server_cpu": cpu_after - cpu_before,
            "server_mb": proc.status_kb(pid, "VmHWM") / 1024.0,
            "bytes": sum(a + b for a, b in closed),
        }


def pull(bins, server, replica, mirror, log_path, timeout=3600):
    """One `articlesync pull` into replica; a dict of figures, the wire counted by the server."""
    argv = [bins.client, "pull", "--server", server.address, "--replica", replica]
    argv.append("--mirror" if mirror else "--no-mirror")

    def run():
        with open(log_path, "ab") as log:
            return proc.run_measured(argv, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)

    m, s = server.measure(run)
    if m.returncode != 0:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            tail = f.read()[-2000:]
        raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(argv), m.returncode, tail))
    return {"wall": m.wall, "bytes": s["bytes"], "client_cpu": m.cpu, "server_cpu": s["server_cpu"],
            "client_mb": m.peak_mb, "server_mb": s["server_mb"]}


def concurrent_pulls(bins, server, replicas, mirror, log_dir, timeout=3600):
    """len(replicas) clients started at once; total wall time and the server's cost."""
    def run():
        t0 = time.monotonic()
        procs = []
        for i, replica in enumerate(replicas):
            log = open(os.path.join(log_dir, "client-%02d.log" % i), "wb")
            argv, report = proc.timed([bins.client, "pull", "--server", server.address, "--replica", replica,
                                       "--mirror" if mirror else "--no-mirror"])
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            p.peak_report = report
            procs.append((p, log))
        deadline = t0 + timeout
        failures = []
        peak_client = 0.0
        cpu = 0.0
        try:
            for p, log in procs:
                cpu, peak_client = _reap(p, log, deadline, failures, cpu, peak_client)
        except BaseException:
            for p, log in procs:
                if p.returncode is None:
                    proc.kill_quietly(p.pid)
                    p.wait()
                    proc.peak_kb(p.peak_report)  # removes GNU time's report
                log.close()
            raise
        return {"wall": time.monotonic() - t0, "failures": failures, "client_cpu": cpu, "client_mb": peak_client}

    # A client that failed may have connected or not: wait for the log lines of those that succeeded.
    r, s = server.measure(run, connections=len(replicas), at_least=lambda res: len(replicas) - len(res["failures"]))
    r.update(s)
    return r


def _reap(p, log, deadline, failures, cpu, peak_client):
    """Wait for one of the concurrent clients; CPU and peak with its share added in."""
    remaining = max(1.0, deadline - time.monotonic())
    try:
        _, status, usage = _wait4_timeout(p, remaining)
    finally:
        log.close()
    code = os.waitstatus_to_exitcode(status)
    p.returncode = code
    if code != 0:
        with open(log.name, encoding="utf-8", errors="replace") as f:
            last = (f.read().strip().splitlines() or ["(no output)"])[-1]
        failures.append((log.name, code, last))
    return cpu + usage.ru_utime + usage.ru_stime, max(peak_client, proc.peak_kb(p.peak_report) / 1024.0)


def _wait4_timeout(p, timeout):
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.monotonic() > deadline:
            p.kill()
            return os.wait4(p.pid, 0)
        time.sleep(0.05)
