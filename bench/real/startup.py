#!/usr/bin/python3
"""startup.py — start-up time and idle memory of three real-mode brokers.

  bench/real/startup.py BROKER_BINARY [key=value...]

Starts brokers 1..3 on free loopback ports (data in a temporary directory) at the
same moment, then measures:
  - per broker, the time from its exec to answering ApiVersions v0 and Metadata v1
    on one connection (raw frames: no client library start-up in the figure);
  - the time from the start to the first acks=all write accepted (confluent-kafka,
    retrying while the quorum forms and the brokers register);
  - each broker's resident set size after 5 s idle (VmRSS).
Prints one `key=value` line.
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "system"))
from kafka_frames import free_ports, read_frame, request  # noqa: E402


def answers(port):
    """ApiVersions v0 then Metadata v1 (all topics) on one connection."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
    except OSError:
        return False
    try:
        s.sendall(request(18, 0, 1, client=b"startup"))
        read_frame(s)
        s.sendall(request(3, 1, 2, struct.pack(">i", -1), b"startup"))
        read_frame(s)
        return True
    except (OSError, ConnectionError):
        return False
    finally:
        s.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    binary = sys.argv[1]
    extra = "".join(kv + "\n" for kv in sys.argv[2:])  # more properties, key=value
    d = tempfile.mkdtemp(prefix="streamlab-startup.")
    ports = free_ports(3)
    voters = ",".join("%d@127.0.0.1:%d" % (i + 1, p) for i, p in enumerate(ports))
    procs, starts = [], []
    for i, p in enumerate(ports):
        conf = os.path.join(d, "server-%d.properties" % (i + 1))
        with open(conf, "w") as f:
            f.write(
                "node.id=%d\nlisteners=PLAINTEXT://127.0.0.1:%d\ncontroller.quorum.voters=%s\n"
                "log.dirs=%s/data-%d\nmin.insync.replicas=2\noffsets.topic.num.partitions=3\n%s"
                % (i + 1, p, voters, d, i + 1, extra)
            )
    for i in range(3):
        conf = os.path.join(d, "server-%d.properties" % (i + 1))
        log = open(os.path.join(d, "broker-%d.log" % (i + 1)), "w")
        starts.append(time.monotonic())
        procs.append(subprocess.Popen([binary, "--config", conf], stdout=log, stderr=log))
    t0 = starts[0]
    answer_ms = [None] * 3
    while any(a is None for a in answer_ms) and time.monotonic() - t0 < 10:
        for i, p in enumerate(ports):
            if answer_ms[i] is None and answers(p):
                answer_ms[i] = (time.monotonic() - starts[i]) * 1000
        time.sleep(0.001)

    from confluent_kafka import Producer

    bootstrap = ",".join("127.0.0.1:%d" % p for p in ports)
    # One producer from the start: librdkafka retries (metadata every 100 ms) while the
    # quorum forms, the brokers register and the topic is created on first use.
    done = []
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "message.timeout.ms": 30000,
            "linger.ms": 0,
            "topic.metadata.refresh.fast.interval.ms": 50,
            "retry.backoff.ms": 20,
        }
    )
    p.produce("startup-topic", b"x", on_delivery=lambda err, msg: done.append(err))
    while not done and time.monotonic() - t0 < 30:
        p.poll(0.005)
    first_write_s = time.monotonic() - t0 if done and done[0] is None else None
    p.flush(1)
    time.sleep(5)
    rss = [rss_kb(pr.pid) for pr in procs]
    for pr in procs:
        pr.terminate()
    for pr in procs:
        pr.wait(10)
    if not os.environ.get("KEEP"):
        subprocess.run(["rm", "-rf", d])
    else:
        print(d)
    print(
        "answer_ms=%s first_acks_all_write_s=%s idle_rss_kb=%s"
        % (
            ",".join("%.1f" % a if a is not None else "none" for a in answer_ms),
            "%.2f" % first_write_s if first_write_s is not None else "none",
            ",".join(str(r) for r in rss),
        )
    )


if __name__ == "__main__":
    main()
