#!/usr/bin/env python3
# Reads the timestamps of bench/fleet-lookup-trace.sh (one Stopwatch clock, CLOCK_MONOTONIC, shared by all processes):
# the client's resumed handshakes (port, start, end, version) and each server's ClientHello -> first flight with the lookup's
# marks, matches them by time, and prints per TLS version and setup (local = internal cache, store = Redis lookup) the
# quartiles of every segment in ms.
import bisect, collections, glob, os, statistics, sys
d = sys.argv[1]
servers = []
for f in glob.glob(os.path.join(d, "[0-9]*.txt")):
    for line in open(f):
        r = line.split()
        marks = dict(zip(r[5::2], r[6::2]))
        x = r.index("x")
        servers.append((int(r[3]), int(r[4]), r[1], marks, [int(v) / 1000 for v in r[x + 1:x + 4]]))
servers.sort()
starts = [s[0] for s in servers]
out = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(os.path.join(d, "client.txt")):
    port, cs, ce, version = line.split()
    cs, ce = int(cs), int(ce)
    i = bisect.bisect_left(starts, cs)
    if i >= len(servers) or servers[i][0] > ce:
        continue
    hello, sent, kind, marks, extra = servers[i]
    g = out[(version, kind)]
    g["client handshake"].append((ce - cs) / 1e6)
    g["client start -> ClientHello read"].append((hello - cs) / 1e6)
    g["server ClientHello -> flight sent"].append((sent - hello) / 1e6)
    g["flight sent -> client done"].append((ce - sent) / 1e6)
    if kind == "store":
        for k, name in (("pre", "1st SSL_do_handshake (paused)"), ("issue", "store.GetAsync returns (sync part)"),
                        ("wait", "await until continuation runs"), ("provide", "ProvideSession (d2i)"),
                        ("engine", "2nd SSL_do_handshake"), ("send", "socket send")):
            g[name].append(float(marks[k]))
        g[" .. of which: lookup read + counters"].append(extra[0])
        g[" .. of which: SE.Redis StringGet(Delete)Async"].append(extra[1])
        g[" .. of which: WaitAsync/AsTask wrappers"].append(extra[2])
for (version, kind), g in sorted(out.items()):
    print(f"{version} {kind} (n={len(g['client handshake'])})")
    for name, v in g.items():
        v = sorted(v)
        q = lambda p: v[min(len(v) - 1, int(p * len(v)))]
        print(f"  {name:42s} p25 {q(.25):7.3f}  p50 {q(.5):7.3f}  p75 {q(.75):7.3f}")
