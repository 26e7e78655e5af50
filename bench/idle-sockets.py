#!/usr/bin/env python3
"""What idle connections cost the producer, and whether it still answers under them.

Opens N TCP connections to a running producer and sends nothing on them; then reads the
producer's resident memory and open descriptors from /proc, times a GET /healthz on a fresh
connection, waits (IDLE_WAIT seconds, to see the idle timeout close them), reads them again,
closes everything and reads them once more.

    bench/idle-sockets.py PID PORT [N]
"""
import os, resource, socket, sys, time

pid, port = int(sys.argv[1]), int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
wait = float(os.environ.get("IDLE_WAIT", "0"))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def sample(label):
    rss = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) // 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    started = time.monotonic()
    try:
        probe = socket.create_connection(("127.0.0.1", port), timeout=10)
        probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = probe.recv(100)
        probe.close()
        health = f"{answer.split(b' ')[1].decode()} in {(time.monotonic() - started) * 1000:.0f} ms"
    except OSError as error:
        health = f"no answer ({error})"
    print(f"{label:<28} rss {rss:>5} MB  descriptors {fds:>6}  /healthz {health}", flush=True)

sample("before")
held = []
for _ in range(count):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        break
    held.append(s)
time.sleep(2)
sample(f"{len(held)} idle connections")
if wait:
    time.sleep(wait)
    sample(f"after {wait:.0f} s idle")
for s in held:
    s.close()
time.sleep(2)
sample("all closed")
