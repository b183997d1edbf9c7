#!/usr/bin/env python
"""Markdown tables from one or more ``run.py --mode scenes --json FILE`` results (for bench/README.md).

    .venv/bin/python bench/report.py bench/results/base-1.json bench/results/base-2.json

With several files (repeated runs of the same command), each ratio cell shows the median of the runs and, in
brackets, their range: the run-to-run spread on a shared machine.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import orjson


def _cell(values: list[float], fmt: str = "{:.2f}") -> str:
    values = [v for v in values if v == v]
    if not values:
        return "-"
    med = fmt.format(statistics.median(values))
    if len(values) == 1:
        return med
    return f"{med} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main(argv: list[str]) -> int:
    runs = [orjson.loads(Path(f).read_bytes()) for f in argv]
    sc = [r["scenes"] for r in runs]
    first = sc[0]
    sizes = sorted({row["size"] for rows in first["scenes"].values() for row in rows})
    loads = ", ".join("%.1f/%.1f" % (r["machine"]["loadavg"][0], r["loadavg_end"][0]) for r in runs)
    heads = ", ".join(r["machine"]["git"].get("head", "?") for r in runs)
    print(f"Runs: {len(runs)}; code {heads}; 1-min load average at start/end: {loads}")
    print()
    print("| scene | " + " | ".join(f"{n:,}" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for scene, rows in first["scenes"].items():
        cells = []
        for n in sizes:
            vals = [next((x["ratio"] for x in s["scenes"].get(scene, []) if x["size"] == n and "ratio" in x),
                         float("nan")) for s in sc]
            skipped = next((x.get("skipped") for x in rows if x["size"] == n and x.get("skipped")), None)
            cells.append("over 16 MiB" if skipped else _cell(vals) + "x")
        print(f"| {scene} | " + " | ".join(cells) + " |")
    rd = [s.get("realdata") for s in sc if s.get("realdata")]
    if rd:
        print(f"| realdata ({rd[0]['bodies']} bodies, sum) | {_cell([r['ratio'] for r in rd])}x |"
              + " |" * (len(sizes) - 1))
    ld = [s.get("load") for s in sc if s.get("load")]
    if ld:
        print(f"| load, 100 annotations, 16 connections (req/s ratio, target >= 0.5) | "
              f"{_cell([x['ratio'] for x in ld])} |" + " |" * (len(sizes) - 1))
    print()
    print("Medians (ms, bare / service) and CPU per request (ms, service / bare), first run:")
    print()
    print("| scene | size | body KB | bare ms | service ms | ratio | min ratio | CPU ms/req s/b | answer |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for scene, rows in first["scenes"].items():
        for x in rows:
            if x.get("skipped"):
                continue
            print(f"| {scene} | {x['size']:,} | {x['body_bytes'] / 1024:.0f} | {x['bare_median_ms']:.2f} | "
                  f"{x['service_median_ms']:.2f} | {x['ratio']:.2f} | {x['min_ratio']:.2f} | "
                  f"{x['service_cpu_ms_per_req']:.2f} / {x['bare_cpu_ms_per_req']:.2f} | {x['service_answer']} |")
    if first.get("realdata"):
        r = first["realdata"]
        print(f"| realdata | {r['bodies']} bodies | {r['body_bytes'] / 1024:.0f} | {r['bare_sum_ms']:.0f} (sum) | "
              f"{r['service_sum_ms']:.0f} (sum) | {r['ratio']:.2f} | - | {r['service_cpu_ms_per_req']:.2f} / "
              f"{r['bare_cpu_ms_per_req']:.2f} | - |")
    st = [s["startup_s"] for s in sc]
    print()
    print(f"Start-up (to the first 200 on the readiness path): service {_cell([x['service'] for x in st])} s, bare "
          f"{_cell([x['bare'] for x in st])} s.")
    for when in ("memory_at_start", "memory_at_end"):
        w = first[when]["service"]["workers"]
        b = first[when]["bare"]["workers"]
        if w and b:
            print(f"Per-worker memory {when.split('_', 1)[1].replace('_', ' ')} (MiB, mean of {len(w)} workers; "
                  f"RSS / PSS / USS): service {statistics.fmean(x['rss'] for x in w):.0f} / "
                  f"{statistics.fmean(x['pss'] for x in w):.0f} / {statistics.fmean(x['uss'] for x in w):.0f}, bare "
                  f"{statistics.fmean(x['rss'] for x in b):.0f} / {statistics.fmean(x['pss'] for x in b):.0f} / "
                  f"{statistics.fmean(x['uss'] for x in b):.0f}; master RSS service "
                  f"{first[when]['service']['master'].get('rss', float('nan')):.0f}.")
    adv = next((s.get("adversarial") for s in sc if s.get("adversarial")), None)
    if adv:
        print()
        print("| adversarial body | KB | service ms | CPU ms | answer | answer KB | worker peak RSS MiB | bare ms |")
        print("|---|---:|---:|---:|---|---:|---:|---:|")
        for a in adv:
            print(f"| {a['body']} | {a['body_bytes'] / 1024:.0f} | {a['service_ms']:.0f} | {a['service_cpu_ms']:.0f} | "
                  f"{a['service_answer']} | {a['answer_bytes'] / 1024:.0f} | {a['service_worker_peak_rss_mib']:.0f} | "
                  f"{a['bare_ms']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
