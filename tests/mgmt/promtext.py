"""promtext.py - the Prometheus text checker the management tests share.

parse_prometheus(text) -> (types, samples): every TYPE once, every sample
after its family's TYPE, no duplicate sample or label; samples keyed by
(name, frozenset of (label, value)). AssertionError on a violation.

FRAME_FAMILIES     families only mxgate-dp exports (frames, cycles, TX
                   bursts, control wake-ups): never in socket mode
SFILTER_FAMILIES   the sender filter's families (only with a filter)
SFILTER_REASONS    the reason labels of mxgate_sfilter_refusals_total
"""
import re

FRAME_FAMILIES = ["mxgate_rx_packets_total", "mxgate_tx_packets_total", "mxgate_drops_total",
                  "mxgate_busy_cycles_total", "mxgate_idle_cycles_total",
                  "mxgate_tx_bursts_total", "mxgate_tx_cycles_total",
                  "mxgate_control_wakeups_total"]
SFILTER_REASONS = ["block", "conns", "rate", "profiler", "dnsbl", "pregreet",
                   "rcpt_unknown", "syn_dropped", "syn_reset"]
SFILTER_FAMILIES = ["mxgate_sfilter_refusals_total", "mxgate_sfilter_allowed_total",
                    "mxgate_sfilter_dnsbl_queries_total", "mxgate_sfilter_held_total",
                    "mxgate_sfilter_events_lost_total", "mxgate_sfilter_limits_full_total",
                    "mxgate_sfilter_refusals_unlogged_total"]


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (-?[0-9.eE+-]+|\+Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text):
    """{(name, frozenset(labels)): value}, checking the exposition format."""
    types, samples = {}, {}
    for ln in text.splitlines():
        if not ln:
            continue
        if ln.startswith("# HELP "):
            continue
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(" ", 3)
            expect(typ in ("counter", "gauge", "histogram", "summary", "untyped"), ln)
            expect(name not in types, f"TYPE twice: {name}")
            types[name] = typ
            continue
        expect(not ln.startswith("#"), f"stray comment: {ln}")
        m = METRIC_LINE.match(ln)
        expect(m, f"not a sample line: {ln!r}")
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        expect(len(labels) == len(LABEL.findall(m.group(3) or "")), f"label twice: {ln}")
        base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        expect(m.group(1) in types or base in types, f"sample without TYPE: {ln}")
        key = (m.group(1), labels)
        expect(key not in samples, f"duplicate sample: {ln}")
        samples[key] = float(m.group(4))
    return types, samples


def metric_sum(samples, name, **want):
    """The sum of name's samples whose labels include want."""
    return sum(v for (n, l), v in samples.items()
               if n == name and all((k, x) in l for k, x in want.items()))
