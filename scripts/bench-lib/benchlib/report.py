"""Tables of medians and the goals of issue 6 (and issue 4), for the terminal and for Markdown."""

import statistics

TOOLS = [("ours", "ours"), ("rsync-z", "rsync -z"), ("rsync-zlib", "rsync -z --zc=zlib")]
SCENARIOS = [
    ("full-mirror", "full pull, mirror"),
    ("full-reading", "full pull, reading"),
    ("noop-mirror", "no-op pull, mirror"),
    ("noop-reading", "no-op pull, reading"),
    ("incr-mirror", "incremental, mirror"),
    ("incr-reading", "incremental, reading"),
]
METRICS = [("wall", "wall s", "%.2f"), ("bytes", "wire bytes", "%d"), ("client_cpu", "client CPU s", "%.2f"),
           ("server_cpu", "server CPU s", "%.2f"), ("client_mb", "client MB", "%.1f"), ("server_mb", "server MB", "%.1f")]
MEMORY_LIMIT_MB = 64
CONCURRENT_SERVER_LIMIT_MB = 100


def rsync_scenario(scenario):
    # rsync has one kind of client: its row stands beside both of ours.
    return scenario.split("-")[0]


def medians(runs):
    """{(scenario, tool): [dict, …]} -> {(scenario, tool): {metric: median}}."""
    out = {}
    for key, values in runs.items():
        if values:
            out[key] = {m: statistics.median(v[m] for v in values) for m, _, _ in METRICS}
    return out


def cell(med, scenario, tool, metric):
    key = (scenario, tool) if tool == "ours" else (rsync_scenario(scenario), tool)
    value = med.get(key, {}).get(metric)
    return value


def fmt(value, pattern):
    if value is None:
        return "—"
    if pattern == "%d":
        return "{:,}".format(int(round(value)))
    return pattern % value


def goals(med, concurrent=None):
    """(description, value, limit, met) rows; value None when not measured."""
    def ratio(scenario, metric, rsync_tool):
        a, b = cell(med, scenario, "ours", metric), cell(med, scenario, rsync_tool, metric)
        return None if a is None or not b else a / b

    rows = [
        ("full pull, mirror: wall / rsync -z", ratio("full-mirror", "wall", "rsync-z"), 0.4),
        ("full pull, reading: wall / rsync -z", ratio("full-reading", "wall", "rsync-z"), 1.0),
        ("full pull: wire bytes / rsync -z", ratio("full-mirror", "bytes", "rsync-z"), 1.1),
        ("full pull: wire bytes / rsync -z --zc=zlib", ratio("full-mirror", "bytes", "rsync-zlib"), 0.8),
        ("no-op pull: wall / rsync -z", ratio("noop-mirror", "wall", "rsync-z"), 0.1),
        ("no-op pull: wire bytes (absolute)", cell(med, "noop-mirror", "ours", "bytes"), 1023),
        ("incremental, mirror: wall / rsync -z", ratio("incr-mirror", "wall", "rsync-z"), 0.3),
        ("incremental: wire bytes / rsync -z", ratio("incr-mirror", "bytes", "rsync-z"), 0.3),
        ("server CPU per full pull / rsync daemon (-z)", ratio("full-mirror", "server_cpu", "rsync-z"), 0.25),
    ]
    client_peaks = [cell(med, s, "ours", "client_mb") for s, _ in SCENARIOS]
    server_peaks = [cell(med, s, "ours", "server_mb") for s, _ in SCENARIOS]
    client_peaks = [v for v in client_peaks if v is not None]
    server_peaks = [v for v in server_peaks if v is not None]
    rows.append(("client peak memory, MB (any scenario)", max(client_peaks) if client_peaks else None, MEMORY_LIMIT_MB))
    rows.append(("server peak memory, MB (any scenario)", max(server_peaks) if server_peaks else None, MEMORY_LIMIT_MB))
    if concurrent:
        rows.append(("server peak memory, MB, %d clients at once (issue 4)" % concurrent["clients"],
                     concurrent["server_mb"], CONCURRENT_SERVER_LIMIT_MB))
    return [(d, v, limit, None if v is None else v <= limit) for d, v, limit in rows]


def concurrent_line(c):
    line = ("%d clients pulling at once (mirror): all done in %.1f s; server peak %.1f MB, server CPU %.1f s, "
            "%s wire bytes; client peak %.1f MB each"
            % (c["clients"], c["wall"], c["server_mb"], c["server_cpu"], "{:,}".format(c["bytes"]), c["client_mb"]))
    if c["failures"]:
        line += "; %d of them FAILED (first: exit %d, %s)" % (len(c["failures"]), c["failures"][0][1], c["failures"][0][2])
    return line


def text_tables(n, raw_bytes, runs, med, concurrent, setup):
    lines = []
    lines.append("N = {:,} articles ({:.1f} MB of seed files), medians of {} run(s)".format(n, raw_bytes / 1e6, runs))
    head = "%-22s %-19s" % ("scenario", "tool") + "".join("%14s" % label for _, label, _ in METRICS)
    lines.append(head)
    lines.append("-" * len(head))
    for scenario, sname in SCENARIOS:
        for i, (tool, tname) in enumerate(TOOLS):
            row = "%-22s %-19s" % (sname if i == 0 else "", tname)
            row += "".join("%14s" % fmt(cell(med, scenario, tool, m), p) for m, _, p in METRICS)
            lines.append(row)
    lines.append("")
    if setup:
        lines.append("setup: " + "; ".join(setup))
    if concurrent:
        lines.append(concurrent_line(concurrent))
    lines.append("")
    lines.append("goals (issue 6, set for N = 100,000):")
    for desc, value, limit, met in goals(med, concurrent):
        status = "not measured" if met is None else ("MET" if met else "MISSED")
        lines.append("  %-52s %10s  (goal <= %s)  %s" % (desc, fmt(value, "%.3f" if limit < 10 else "%.1f"),
                                                         limit, status))
    return "\n".join(lines)


def markdown_tables(n, raw_bytes, runs, med, concurrent, setup):
    out = []
    out.append("#### N = {:,} articles ({:.1f} MB of seed files), medians of {} run(s)".format(n, raw_bytes / 1e6, runs))
    out.append("")
    out.append("| scenario | tool | " + " | ".join(label for _, label, _ in METRICS) + " |")
    out.append("|---|---|" + "---:|" * len(METRICS))
    for scenario, sname in SCENARIOS:
        for i, (tool, tname) in enumerate(TOOLS):
            cells = [fmt(cell(med, scenario, tool, m), p) for m, _, p in METRICS]
            name = sname if i == 0 else ""
            tool_cell = "**%s**" % tname if tool == "ours" else tname
            out.append("| %s | %s | %s |" % (name, tool_cell, " | ".join(cells)))
    out.append("")
    if setup:
        out.append("Setup: " + "; ".join(setup) + ".")
        out.append("")
    if concurrent:
        out.append(concurrent_line(concurrent) + ".")
        out.append("")
    out.append("| goal (issue 6, set for N = 100,000) | measured | limit | |")
    out.append("|---|---:|---:|---|")
    for desc, value, limit, met in goals(med, concurrent):
        status = "not measured" if met is None else ("MET" if met else "**MISSED**")
        out.append("| %s | %s | %s | %s |" % (desc, fmt(value, "%.3f" if limit < 10 else "%.1f"), limit, status))
    out.append("")
    return "\n".join(out)


def across_n(per_n):
    """Checks that need two sizes: the no-op's bytes and our memory flat in N."""
    if len(per_n) < 2:
        return []
    ns = sorted(per_n)
    small, large = per_n[ns[0]], per_n[ns[-1]]
    rows = []
    a, b = cell(small, "noop-mirror", "ours", "bytes"), cell(large, "noop-mirror", "ours", "bytes")
    if a is not None and b is not None:
        rows.append(("no-op pull bytes equal at N = %s and %s" % ("{:,}".format(ns[0]), "{:,}".format(ns[-1])),
                     "%d vs %d" % (a, b), a == b))
    for metric, label in (("client_mb", "client"), ("server_mb", "server")):
        xs = [cell(small, s, "ours", metric) for s, _ in SCENARIOS]
        ys = [cell(large, s, "ours", metric) for s, _ in SCENARIOS]
        xs = [v for v in xs if v is not None]
        ys = [v for v in ys if v is not None]
        if xs and ys:
            # "Flat": the larger archive may cost at most a quarter more memory at its peak.
            rows.append(("%s peak memory flat in N (at most +25%%)" % label,
                         "%.1f -> %.1f MB" % (max(xs), max(ys)), max(ys) <= max(xs) * 1.25))
    return rows


def _fastest(runs, scenario, tool):
    walls = [r["wall"] for r in runs.get((scenario, tool), [])]
    return min(walls) if walls else None


def _replica_ratio(result, kind):
    sizes = [r["replica_bytes"] for r in result["runs"].get(("full-%s" % kind, "ours"), []) if "replica_bytes" in r]
    return statistics.median(sizes) / result["raw_bytes"] if sizes and result["raw_bytes"] else None


def _ratio(a, b):
    return None if a is None or not b else a / b


def scaling(results):
    """How cost grows with N, one row per N, and the goals of issue 16 at every N measured."""
    ns = sorted(results)
    head = ["N", "full mirror ours", "rsync -z (fastest)", "ratio (vs fastest)", "full reading ours", "ratio",
            "incr. mirror / reading", "rsync -z", "no-op ours", "rsync -z", "full bytes / rsync -z",
            "mirror / reading size / raw", "client / server peak MB"]
    rows = []
    goals16 = []
    for n in ns:
        r = results[n]
        med, runs = r["medians"], r["runs"]

        def c(s, t, m="wall"):
            return cell(med, s, t, m)

        fm, rz, fr = c("full-mirror", "ours"), c("full-mirror", "rsync-z"), c("full-reading", "ours")
        fast = _fastest(runs, "full", "rsync-z")
        peaks_c = [v for v in (c(s, "ours", "client_mb") for s, _ in SCENARIOS) if v is not None]
        peaks_s = [v for v in (c(s, "ours", "server_mb") for s, _ in SCENARIOS) if v is not None]
        pc, ps = (max(peaks_c) if peaks_c else None), (max(peaks_s) if peaks_s else None)
        bytes_ratio = _ratio(c("full-mirror", "ours", "bytes"), c("full-mirror", "rsync-z", "bytes"))
        mirror_size, reading_size = _replica_ratio(r, "mirror"), _replica_ratio(r, "reading")

        def f(v, p="%.2f"):
            return fmt(v, p)

        rows.append(["{:,}".format(n), f(fm) + " s", "%s s (%s)" % (f(rz), f(fast)),
                     "%s (%s)" % (f(_ratio(fm, rz), "%.2fx"), f(_ratio(fm, fast), "%.2fx")), f(fr) + " s",
                     f(_ratio(fr, rz), "%.2fx"), "%s / %s s" % (f(c("incr-mirror", "ours")), f(c("incr-reading", "ours"))),
                     f(c("incr-mirror", "rsync-z")) + " s", f(c("noop-mirror", "ours")) + " s",
                     f(c("noop-mirror", "rsync-z")) + " s", f(bytes_ratio, "%.3fx"),
                     "%s / %s" % (f(mirror_size, "%.2fx"), f(reading_size, "%.2fx")), "%s / %s" % (f(pc, "%.1f"), f(ps, "%.1f"))])
        if n >= 1000000:
            goals16.append(("N=%s full pull, mirror: wall / rsync -z" % "{:,}".format(n), _ratio(fm, rz), 0.3))
        if n == 100000:
            goals16.append(("N=100,000 full pull, mirror: wall / rsync -z's fastest run", _ratio(fm, fast), 0.3))
        if n >= 100000:
            goals16.append(("N=%s full pull, reading: wall / rsync -z" % "{:,}".format(n), _ratio(fr, rz), 1.0))
            goals16.append(("N=%s reading replica size / raw text" % "{:,}".format(n), reading_size, 1.2))
        goals16.append(("N=%s full pull: wire bytes / rsync -z" % "{:,}".format(n), bytes_ratio, 1.1))
        goals16.append(("N=%s client peak memory, MB" % "{:,}".format(n), pc, MEMORY_LIMIT_MB))
        goals16.append(("N=%s server peak memory, MB" % "{:,}".format(n), ps, MEMORY_LIMIT_MB))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    text = ["how cost grows with N (medians; rsync -z's fastest run in parentheses):"]
    text.append("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    text += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
    text.append("")
    text.append("goals (issue 16):")
    md = ["#### How cost grows with N", "", "| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    md += ["", "| goal (issue 16) | measured | limit | |", "|---|---:|---:|---|"]
    for desc, value, limit in goals16:
        met = None if value is None else value <= limit
        status = "not measured" if met is None else ("MET" if met else "MISSED")
        p = "%.3f" if limit < 10 else "%.1f"
        text.append("  %-62s %10s  (goal <= %s)  %s" % (desc, fmt(value, p), limit, status))
        md.append("| %s | %s | %s | %s |" % (desc, fmt(value, p), limit, status if met is not False else "**MISSED**"))
    md.append("")
    return {"text": "\n".join(text) + "\n", "markdown": "\n".join(md)}


def plot(per_n, path, title):
    """Wall time against N (log-log) for the full, incremental and no-op pulls: ours (mirror and
    reading replica) beside rsync -z."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted(per_n)
    series = [("ours, mirror", "ours", "mirror", "o-", "#1f77b4"), ("ours, reading replica", "ours", "reading", "s-", "#2ca02c"),
              ("rsync -z", "rsync-z", "mirror", "^--", "#d62728")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharex=True)
    for ax, (scenario, name) in zip(axes, (("full", "full pull"), ("incr", "incremental pull"), ("noop", "no-op pull"))):
        for label, tool, kind, style, color in series:
            xs, ys = [], []
            for n in ns:
                v = cell(per_n[n], "%s-%s" % (scenario, kind), tool, "wall")
                if v is not None:
                    xs.append(n)
                    ys.append(max(v, 0.005))
            if xs:
                ax.plot(xs, ys, style, label=label, color=color)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("articles (N)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("wall time, s")
    axes[0].legend(fontsize=8)
    fig.suptitle(title.split("\n")[0] + " (" + title.split("\n")[1].replace("machine: ", "") + ")", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
