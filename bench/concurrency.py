#!/usr/bin/env python3
"""N concurrent TLS clients against HOST:PORT for S seconds: each thread connects, handshakes (resuming its last
session when --resume), sends "GET / HTTP/1.0", reads to the end, closes. Prints one JSON line: clients, handshakes,
handshakes_per_sec, resumed, max_handshake_seconds, p99_handshake_seconds. Used by bench/concurrency.sh."""
import argparse, json, socket, ssl, threading, time

def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--tls", choices=["1.2", "1.3"], default="1.3")
    p.add_argument("--resume", action="store_true")
    a = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # a benchmark against a local ephemeral certificate
    v = ssl.TLSVersion.TLSv1_2 if a.tls == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ctx.maximum_version = v
    waits, resumed, lock = [], [0], threading.Lock()
    end = time.monotonic() + a.seconds

    def client():
        session = None
        while time.monotonic() < end:
            raw = socket.create_connection(("127.0.0.1", a.port))
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            start = time.monotonic()
            tls = ctx.wrap_socket(raw, server_hostname="localhost", session=session if a.resume else None)
            wait = time.monotonic() - start
            tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while tls.recv(4096):
                pass
            with lock:
                waits.append(wait)
                resumed[0] += tls.session_reused
            session = tls.session
            tls.close()

    threads = [threading.Thread(target=client) for _ in range(a.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    waits.sort()
    print(json.dumps({"clients": a.clients, "tls": a.tls, "resume": a.resume, "handshakes": len(waits),
                      "handshakes_per_sec": round(len(waits) / elapsed, 1), "resumed": resumed[0],
                      "max_handshake_seconds": round(waits[-1], 3) if waits else None,
                      "p99_handshake_seconds": round(waits[int(len(waits) * 0.99) - 1], 3) if waits else None}))

main()
