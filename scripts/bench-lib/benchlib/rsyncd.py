"""An rsync daemon on 127.0.0.1 and rsync clients pulling from it, measured."""

import os
import re
import socket
import subprocess
import time

from . import proc

STATS_SENT = re.compile(r"Total bytes sent:\s*([\d,.]+)")
STATS_RECEIVED = re.compile(r"Total bytes received:\s*([\d,.]+)")


def free_port():
    """A port that was free a moment ago (the daemon cannot take port 0 and tell us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stats_number(text):
    return int(text.replace(",", "").replace(".", ""))


class RsyncDaemon:
    """`rsync --daemon --no-detach` serving one read-only module per named directory."""

    def __init__(self, workdir, modules):
        self.workdir = workdir
        self.modules = modules
        self.process = None
        self.port = None

    def __enter__(self):
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "rsyncd.conf")
        lines = [
            "use chroot = no",
            # As root the daemon would switch to nobody; serve as whoever runs the benchmark.
            "uid = %d" % os.getuid(),
            "gid = %d" % os.getgid(),
            "numeric ids = yes",
            "max connections = 0",
            "lock file = %s" % os.path.join(self.workdir, "rsyncd.lock"),
            "log file = %s" % os.path.join(self.workdir, "rsyncd.log"),
            "pid file = %s" % os.path.join(self.workdir, "rsyncd.pid"),
            "transfer logging = no",
        ]
        for name, path in self.modules.items():
            lines += ["[%s]" % name, "path = %s" % os.path.abspath(path), "read only = yes", "list = yes"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        pidfile = os.path.join(self.workdir, "rsyncd.pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        # A free port can be taken between our probe and the daemon's bind: try a few.
        for _attempt in range(5):
            self.port = free_port()
            self.process = subprocess.Popen(
                ["rsync", "--daemon", "--no-detach", "--address=127.0.0.1", "--port=%d" % self.port,
                 "--config=%s" % conf],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(self.workdir, "rsyncd.stderr"), "ab"))
            if self._wait_listening(10):
                return self
            proc.stop(self.process)
        raise RuntimeError("the rsync daemon did not start; see %s/rsyncd.log" % self.workdir)

    def _wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"@RSYNCD: 32.0\n")
                    if s.recv(64).startswith(b"@RSYNCD:"):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def __exit__(self, *exc):
        proc.stop(self.process)

    def settled_cpu(self, timeout=30):
        """The daemon's CPU including every reaped child, once no child is running."""
        proc.wait_for(lambda: not proc.children(self.process.pid), timeout, "the rsync daemon's children to exit")
        return proc.cpu_seconds(self.process.pid, children=True)

    def pull(self, module, dest, compress, log_path, timeout=3600):
        """One `rsync -a -z --delete --stats` pull into dest; a dict of figures."""
        argv = ["rsync", "-a", "-z", "--delete", "--stats"]
        if compress:
            argv.append("--zc=%s" % compress)
        argv += ["rsync://127.0.0.1:%d/%s/" % (self.port, module), dest.rstrip("/") + "/"]
        cpu_before = self.settled_cpu()
        with open(log_path, "wb") as out, proc.ChildPeakSampler(self.process.pid) as sampler:
            m = proc.run_measured(argv, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
        cpu_after = self.settled_cpu()
        with open(log_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if m.returncode != 0:
            raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(argv), m.returncode, text[-2000:]))
        sent, received = STATS_SENT.search(text), STATS_RECEIVED.search(text)
        if not sent or not received:
            raise RuntimeError("no --stats totals in the output of %s:\n%s" % (" ".join(argv), text[-2000:]))
        return {
            "wall": m.wall,
            "bytes": stats_number(sent.group(1)) + stats_number(received.group(1)),
            "client_cpu": m.cpu,
            "server_cpu": cpu_after - cpu_before,
            "client_mb": m.peak_mb,
            "server_mb": sampler.peak_kb / 1024.0,
        }
