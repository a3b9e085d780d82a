#!/usr/bin/env python3
"""Plots bench/up.csv (written by bench/up.sh) as bench/up.svg: time to ready and to a DaemonSet
available everywhere, and memory, against the node count. Standard library only."""
import csv
import math
import pathlib

HERE = pathlib.Path(__file__).parent
W, H, PAD = 720, 420, 60


def scale(values, lo, hi, log=False):
    f = math.log10 if log else (lambda v: v)
    vmin, vmax = f(min(values)), f(max(values))
    span = (vmax - vmin) or 1.0
    return lambda v: lo + (f(v) - vmin) / span * (hi - lo)


def main():
    rows = list(csv.DictReader(open(HERE / "up.csv")))
    nodes = [float(r["nodes"]) for r in rows]
    series = {
        "ready (s)": ([float(r["ready_s"]) for r in rows], "#1f77b4", "left"),
        "DaemonSet available on all nodes (s)": ([float(r["available_s"]) for r in rows], "#ff7f0e", "left"),
        "RSS after (MB)": ([float(r["rss_after_mb"]) for r in rows], "#2ca02c", "right"),
    }
    x = scale(nodes, PAD, W - PAD, log=True)
    seconds = [v for vals, _, side in series.values() if side == "left" for v in vals]
    memory = [v for vals, _, side in series.values() if side == "right" for v in vals]
    y_left = scale([0.0, max(seconds)], H - PAD, PAD)
    y_right = scale([0.0, max(memory)], H - PAD, PAD)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W/2}" y="20" text-anchor="middle" font-size="14">everynode up on 2 cores (bench/up.sh)</text>',
           f'<line x1="{PAD}" y1="{H-PAD}" x2="{W-PAD}" y2="{H-PAD}" stroke="black"/>',
           f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H-PAD}" stroke="black"/>',
           f'<line x1="{W-PAD}" y1="{PAD}" x2="{W-PAD}" y2="{H-PAD}" stroke="black"/>',
           f'<text x="{W/2}" y="{H-15}" text-anchor="middle">simulated nodes (log scale)</text>',
           f'<text x="15" y="{H/2}" transform="rotate(-90 15 {H/2})" text-anchor="middle">seconds</text>',
           f'<text x="{W-15}" y="{H/2}" transform="rotate(90 {W-15} {H/2})" text-anchor="middle">MB</text>']
    for n in nodes:
        out.append(f'<text x="{x(n):.1f}" y="{H-PAD+15}" text-anchor="middle">{int(n)}</text>')
    for frac in (0.0, 0.5, 1.0):
        s, m = frac * max(seconds), frac * max(memory)
        out.append(f'<text x="{PAD-5}" y="{y_left(s):.1f}" text-anchor="end">{s:.2f}</text>')
        out.append(f'<text x="{W-PAD+5}" y="{y_right(m):.1f}">{m:.0f}</text>')
    for i, (label, (values, color, side)) in enumerate(series.items()):
        y = y_left if side == "left" else y_right
        points = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in zip(nodes, values))
        out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for n, v in zip(nodes, values):
            out.append(f'<circle cx="{x(n):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>')
        out.append(f'<text x="{PAD+10}" y="{PAD+15*i}" fill="{color}">{label}</text>')
    out.append("</svg>")
    (HERE / "up.svg").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
