"""Printing results: one table per suite and thread count, then a summary line.

A result row is a dict:
  suite, case, pass ("fwd", "bwd", ...), threads,
  work: GFLOP (compute-bound ops), GB read + written once (memory-bound ops) or images
    (whole networks),
  unit: "GFLOP", "GB" or "img",
  seconds: {"fastconv": s, "torch": s, "numpy": s} (a peer missing or None: not measured),
  note: a footnote marker or "".
Ratios are peer seconds / fastconv seconds: above 1, fastconv is faster.
"""
import numpy as np

PEERS = ("torch", "numpy")


def rate(row, peer="fastconv"):
    """GFLOP/s or GB/s of `peer` on this row, or None."""
    s = row["seconds"].get(peer)
    return None if not s else row["work"] / s


def ratio(row, peer):
    fc, other = row["seconds"].get("fastconv"), row["seconds"].get(peer)
    return None if not fc or not other else other / fc


def limit_fraction(row, limits):
    r = rate(row)
    if r is None:
        return None
    ceilings = {"GFLOP": limits["fma_gflops_f32"], "GB": limits["copy_gbps"]}
    if row["unit"] not in ceilings:  # whole networks: images/s, no single machine limit
        return None
    ceiling = ceilings[row["unit"]]
    return r / ceiling


def _ms(s):
    return f"{1e3 * s:9.3f}" if s else f"{'-':>9}"


def _x(r):
    return f"x{r:6.2f}" if r is not None else f"{'':>7}"


def print_header(unit):
    """The column titles for rows measured in `unit` ("GFLOP" or "GB")."""
    per_s = {"GFLOP": "GF/s", "GB": "GB/s"}.get(unit, unit + "/s")
    ceiling = {"GFLOP": "FMA", "GB": "copy"}.get(unit, "")
    header = (f"  {'case':<26} {'pass':<10} {unit:>7} | {'fastconv ms':>11} {per_s:>7} "
              f"{'%' + ceiling:>6} |")
    for peer in PEERS:
        header += f" {peer + ' ms':>10} {'ratio':>7} |"
    print(header)


def print_row(row, limits):
    frac = limit_fraction(row, limits)
    r = rate(row)
    rate_text = f"{r:7.1f}" if r is not None else "-"
    frac_text = f"{100 * frac:5.1f}%" if frac is not None else "-"
    line = (f"  {row['case']:<26} {row['pass']:<10} {row['work']:7.3f} |"
            f" {_ms(row['seconds'].get('fastconv')):>11}{row.get('note') or ' '}"
            f"{rate_text:>7} {frac_text:>6} |")
    for peer in PEERS:
        line += f" {_ms(row['seconds'].get(peer)):>10} {_x(ratio(row, peer))} |"
    print(line.rstrip(), flush=True)


def summary(rows, peer):
    """(median ratio, worst ratio, worst row) of fastconv against `peer`, or None."""
    pairs = [(ratio(row, peer), row) for row in rows if ratio(row, peer) is not None]
    if not pairs:
        return None
    worst = min(pairs, key=lambda p: p[0])
    return float(np.median([p[0] for p in pairs])), worst[0], worst[1]


def print_summary(suite, threads, rows, limits):
    parts = []
    for peer in PEERS:
        s = summary(rows, peer)
        if s is not None:
            median, worst, row = s
            parts.append(f"vs {peer}: median x{median:.2f}, worst x{worst:.2f} "
                         f"({row['case']} {row['pass']})")
    fractions = [limit_fraction(row, limits) for row in rows]
    fractions = [f for f in fractions if f is not None]
    if fractions:
        ceiling = "FMA limit" if rows[0]["unit"] == "GFLOP" else "copy bandwidth"
        parts.append(f"median {100 * float(np.median(fractions)):.0f}% of {ceiling}")
    if rows[0]["unit"] == "GB" and any(f > 1 for f in fractions):
        print("  (above 100% of copy bandwidth: that op's data fit in cache, the 256 MiB copy's do not)")
    print(f"  SUMMARY {suite} {threads}T: " + ("; ".join(parts) or "no ratios"), flush=True)
