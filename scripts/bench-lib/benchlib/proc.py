"""Running and measuring processes: wall time, CPU and peak memory, from the kernel's own counters."""

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Measured:
    """One finished child: what it cost."""

    def __init__(self, argv, returncode, wall, cpu, maxrss_kb):
        self.argv = argv
        self.returncode = returncode
        self.wall = wall
        self.cpu = cpu
        self.peak_mb = maxrss_kb / 1024.0


GNU_TIME = "/usr/bin/time"


def apt_install(package, program, why):
    """Installs Debian's `package` unless `program` (a path, or a name on PATH) is there already."""
    def present():
        return os.access(program, os.X_OK) if os.sep in program else shutil.which(program) is not None
    if present():
        return
    print("bench: installing %s (apt), %s" % (package, why), file=sys.stderr, flush=True)
    sudo = [] if os.getuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", package], check=True, env=env)
    if not present():
        sys.exit("bench: %s is still missing after apt-get install %s" % (program, package))


def ensure_gnu_time():
    """GNU time (Debian's `time`), installed when missing: see `timed`."""
    apt_install("time", GNU_TIME, "to measure peak memory")


def timed(argv):
    """argv under GNU time, and the file it writes the peak RSS (KiB) to. A child this Python
    process starts directly inherits its high-water mark: exec carries the peak RSS of the memory
    it replaces (this process's, under vfork) into the child's, so every figure would be at least
    this harness's own size. GNU time forks the command from its own small process instead."""
    ensure_gnu_time()
    fd, report = tempfile.mkstemp(prefix="bench-rss-")
    os.close(fd)
    return [GNU_TIME, "-f", "%M", "-o", report] + list(argv), report


def peak_kb(report):
    """The peak RSS GNU time wrote (its last line; a line before it names a failure), then the
    file is removed."""
    try:
        with open(report) as f:
            lines = f.read().split()
        return int(lines[-1]) if lines and lines[-1].isdigit() else 0
    finally:
        os.unlink(report)


def run_measured(argv, stdout=None, stderr=None, timeout=3600, env=None, cwd=None):
    """Run argv to its end; wall time, CPU from wait4 and peak RSS from GNU time (both include the
    descendants the command waited for, as rsync's receiver/generator pair)."""
    command, report = timed(argv)
    t0 = time.monotonic()
    # Its own session: a timeout or an interrupt kills the command with GNU time.
    p = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    timer = threading.Timer(timeout, kill_quietly, (p.pid,))
    timer.start()
    try:
        _, status, usage = os.wait4(p.pid, 0)
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM): leave no client behind.
        kill_quietly(p.pid)
        p.wait()
        peak_kb(report)
        raise
    finally:
        timer.cancel()
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for it again
    return Measured(argv, p.returncode, wall, usage.ru_utime + usage.ru_stime, peak_kb(report))


def kill_quietly(pid):
    """Kills the session `pid` leads (GNU time and its command), or `pid` alone."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def cpu_seconds(pid, children=False):
    """utime+stime of pid (and of its reaped children with children=True), from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime is field 14, stime 15, cutime 16, cstime 17.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def reset_peak(pid):
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs). False when not allowed."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open("/proc/%s/stat" % name) as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                            found.append(int(name))
                except OSError:
                    pass
        return found


class ChildPeakSampler:
    """Samples the peak RSS of a daemon's forked children while a transfer runs (the rsync
    daemon forks one per connection, and a child's peak is gone once it exits)."""

    def __init__(self, pid, interval=0.02):
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            total = 0
            for child in children(self.pid):
                total += status_kb(child, "VmHWM")
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self.interval)


def wait_for(predicate, timeout, what, interval=0.02):
    """Poll predicate until it is true; raise with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("gave up after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def read_line(pipe, pattern, timeout, what):
    """Read lines from a pipe until one matches pattern; the match. Bounded by timeout."""
    deadline = time.monotonic() + timeout
    buf = b""
    rx = re.compile(pattern)
    fd = pipe.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            raise RuntimeError("%s ended before printing a line matching %r" % (what, pattern))
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            m = rx.search(line.decode("utf-8", "replace"))
            if m:
                return m
    raise TimeoutError("%s printed no line matching %r within %.0f s" % (what, pattern, timeout))


def stop(p, grace=15):
    """SIGTERM, then SIGKILL after grace seconds; reaps the process."""
    if p is None or p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=grace)
