#!/usr/bin/env python3
"""Draws the benchmark's figures from the JSON reports of scripts/bench.sh.

usage: bench/plot.py RESULTS_DIR OUTPUT.png

Three panels: latency against offered load (the open loops at 25/50/75/100% of the closed loop's maximum),
the time for one broadcast to reach the last watcher against the number of watchers (the notifier and
Sockudo), and the server's memory per connection against the number of watchers.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def load(path):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results, output = Path(sys.argv[1]), Path(sys.argv[2])
    fig, (load_ax, fan_ax, mem_ax) = plt.subplots(1, 3, figsize=(16, 4.8))

    closed = load(results / "closed.json")
    runs = []
    for percent, name in ((25, "open-25"), (50, "open"), (75, "open-75"), (100, "open-100")):
        run = load(results / f"{name}.json")
        if run:
            runs.append((percent, run))
    if runs:
        rates = [run["redeems_per_s"] for _, run in runs]
        for key, label, style in (
            ("redeem", "redeem p50", "o--"),
            ("redeem", "redeem p99", "o-"),
            ("end_to_end", "redeem answer -> watcher p50", "s--"),
            ("end_to_end", "redeem answer -> watcher p99", "s-"),
        ):
            quantile = "p99_ms" if label.endswith("p99") else "p50_ms"
            load_ax.plot(rates, [run["latency"][key][quantile] for _, run in runs], style, label=label)
        for index, ((percent, run), rate) in enumerate(zip(runs, rates)):
            load_ax.annotate(f"{percent}%, {run['watchers']:,} w.", (rate, 0), xycoords=("data", "axes fraction"),
                             textcoords="offset points", xytext=(0, 4 + 10 * (index % 2)), ha="center",
                             fontsize=7, color="gray")
        load_ax.axhline(50, color="tab:blue", linewidth=0.8, linestyle=":", label="redeem p99 target (50 ms)")
        load_ax.axhline(100, color="tab:red", linewidth=0.8, linestyle=":", label="end-to-end p99 target (100 ms)")
        maximum = f" (closed-loop maximum {closed['redeems_per_s']:,.0f}/s)" if closed else ""
        load_ax.set_xlabel(f"offered load, redeems/s{maximum}")
        load_ax.set_ylabel("ms (log scale)")
        load_ax.set_yscale("log")
        load_ax.set_title("Latency against offered load (w. = WebSocket watchers)")
        load_ax.legend(fontsize=8)

    for name, label, color in (("notifier", "notifier", "tab:green"), ("sockudo", "Sockudo 5", "tab:purple")):
        report = load(results / f"fanout-{name}.json")
        if not report:
            continue
        steps = report["steps"]
        watchers = [step["watchers"] for step in steps]
        fan_ax.plot(watchers, [step["last"]["p50_ms"] for step in steps], "o--", color=color,
                    label=f"{label}: last watcher, p50")
        fan_ax.plot(watchers, [step["last"]["p99_ms"] for step in steps], "o-", color=color,
                    label=f"{label}: last watcher, p99")
        mem_ax.plot(watchers, [step["per_connection_kib"] for step in steps], "o-", color=color, label=label)
    fan_ax.set_xlabel("watchers on one server")
    fan_ax.set_ylabel("ms from the trigger")
    fan_ax.set_title("One broadcast: time to reach the last watcher")
    fan_ax.set_ylim(bottom=0)
    fan_ax.legend(fontsize=8)
    mem_ax.axhline(30 * 1000 / 1024, color="tab:red", linewidth=0.8, linestyle=":", label="target (30 KB)")
    mem_ax.set_xlabel("watchers on one server")
    mem_ax.set_ylabel("KiB of resident memory per connection")
    mem_ax.set_title("Server memory per connection")
    mem_ax.set_ylim(bottom=0)
    mem_ax.legend(fontsize=8)

    fig.tight_layout()
    fig.savefig(output, dpi=110)
    print(f"plot written to {output}")


if __name__ == "__main__":
    main()
