#!/usr/bin/python3
"""real_autocreate.py — Metadata auto-creation on a cluster that is still starting.

  tests/system/real_autocreate.py BROKER_BINARY

Starts three brokers on free loopback ports and, as soon as broker 1 listens (before
the controller quorum has elected anyone), asks it with Metadata v4 for a topic that
does not exist, allowing auto-creation.  The broker must hold that request until the
controller exists and the topic is created, and answer it with every partition led
(docs/real.md, `streamlab.auto.create.wait.ms`).  Then, on the running cluster: an
invalid topic name gets INVALID_TOPIC_EXCEPTION at once, a request that does not allow
auto-creation gets UNKNOWN_TOPIC_OR_PARTITION at once.  Last, a lone broker whose
quorum can never elect holds such a request for its wait (1 s here) and then answers
LEADER_NOT_AVAILABLE, as Kafka would have at once.  Raw frames: no client library
retries hide what the broker answered.  Prints `ok: ...` lines; exits 1 on a failure.
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

from kafka_frames import free_ports, read_frame, request

UNKNOWN_TOPIC_OR_PARTITION = 3
LEADER_NOT_AVAILABLE = 5
INVALID_TOPIC_EXCEPTION = 17


def metadata_v4(s, corr, topic, allow):
    name = topic.encode()
    body = struct.pack(">ih", 1, len(name)) + name + struct.pack(">b", 1 if allow else 0)
    s.sendall(request(3, 4, corr, body, b"autocreate-test"))
    return parse_metadata_v4(read_frame(s), corr)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        v = self.data[self.pos : self.pos + n].decode()
        self.pos += n
        return v

    def int32s(self):
        return [self.take(">i") for _ in range(self.take(">i"))]


def parse_metadata_v4(resp, corr):
    r = Reader(resp)
    assert r.take(">i") == corr, "correlation id"
    r.take(">i")  # throttle_time_ms
    for _ in range(r.take(">i")):  # brokers
        r.take(">i"), r.string(), r.take(">i"), r.string()
    r.string()  # cluster_id
    r.take(">i")  # controller_id
    topics = []
    for _ in range(r.take(">i")):
        error, name, _internal = r.take(">h"), r.string(), r.take(">b")
        parts = []
        for _ in range(r.take(">i")):
            p_error, index, leader = r.take(">h"), r.take(">i"), r.take(">i")
            r.int32s(), r.int32s()  # replicas, isr (offline replicas only from v5)
            parts.append((index, p_error, leader))
        topics.append((name, error, parts))
    return topics


def connect_when_listening(port, deadline):
    while time.monotonic() < deadline:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            time.sleep(0.002)
    raise TimeoutError("broker 1 never listened")


def main():
    binary = sys.argv[1]
    d = tempfile.mkdtemp(prefix="streamlab-autocreate.")
    ports = free_ports(3)
    voters = ",".join("%d@127.0.0.1:%d" % (i + 1, p) for i, p in enumerate(ports))
    procs = []
    failures = 0
    try:
        for i, p in enumerate(ports):
            conf = os.path.join(d, "server-%d.properties" % (i + 1))
            with open(conf, "w") as f:
                f.write(
                    "node.id=%d\nlisteners=PLAINTEXT://127.0.0.1:%d\n"
                    "controller.quorum.voters=%s\nlog.dirs=%s/data-%d\n" % (i + 1, p, voters, d, i + 1)
                )
            log = open(os.path.join(d, "broker-%d.log" % (i + 1)), "w")
            procs.append(subprocess.Popen([binary, "--config", conf], stdout=log, stderr=log))
        t0 = time.monotonic()
        s = connect_when_listening(ports[0], t0 + 10)
        topics = metadata_v4(s, 1, "created-while-starting", True)
        waited_s = time.monotonic() - t0
        name, error, parts = topics[0]
        led = [p for p in parts if p[1] == 0 and p[2] >= 1]
        if error == 0 and len(parts) == 3 and len(led) == 3:
            print("ok: first Metadata asking for a new topic, sent before any controller, "
                  "answered after %.2f s with all 3 partitions led: %s" % (waited_s, parts))
        else:
            print("FAIL: auto-create during start-up answered %r after %.2f s" % (topics, waited_s))
            failures += 1

        t1 = time.monotonic()
        topics = metadata_v4(s, 2, "bad name!", True)
        if topics[0][1] == INVALID_TOPIC_EXCEPTION and time.monotonic() - t1 < 1:
            print("ok: an invalid topic name gets INVALID_TOPIC_EXCEPTION at once")
        else:
            print("FAIL: invalid name answered %r" % (topics,))
            failures += 1

        t1 = time.monotonic()
        topics = metadata_v4(s, 3, "never-created", False)
        if topics[0][1] == UNKNOWN_TOPIC_OR_PARTITION and time.monotonic() - t1 < 1:
            print("ok: without allow_auto_topic_creation an unknown topic is UNKNOWN_TOPIC_OR_PARTITION at once")
        else:
            print("FAIL: allow=false answered %r" % (topics,))
            failures += 1
        s.close()

        # A lone broker of a three-voter quorum never sees a controller: the request
        # waits its streamlab.auto.create.wait.ms and gets Kafka's answer.
        lone_port, silent_2, silent_3 = free_ports(3)  # voters 2 and 3 never start
        lone_voters = "1@127.0.0.1:%d,2@127.0.0.1:%d,3@127.0.0.1:%d" % (lone_port, silent_2, silent_3)
        conf = os.path.join(d, "lone.properties")
        with open(conf, "w") as f:
            f.write(
                "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:%d\ncontroller.quorum.voters=%s\n"
                "log.dirs=%s/lone\nstreamlab.auto.create.wait.ms=1000\n"
                % (lone_port, lone_voters, d)
            )
        log = open(os.path.join(d, "lone.log"), "w")
        procs.append(subprocess.Popen([binary, "--config", conf], stdout=log, stderr=log))
        s = connect_when_listening(lone_port, time.monotonic() + 10)
        t1 = time.monotonic()
        topics = metadata_v4(s, 4, "no-controller", True)
        waited_s = time.monotonic() - t1
        t1 = time.monotonic()
        after = metadata_v4(s, 5, "no-controller", False)
        held = topics[0][1] == LEADER_NOT_AVAILABLE and 0.9 <= waited_s < 3
        freed = after[0][1] == UNKNOWN_TOPIC_OR_PARTITION and time.monotonic() - t1 < 1
        if held and freed:
            print("ok: without a controller the request waits its %.2f s and gets LEADER_NOT_AVAILABLE; "
                  "the connection then serves the next request at once" % waited_s)
        else:
            print("FAIL: without a controller: %r after %.2f s, then %r" % (topics, waited_s, after))
            failures += 1
        s.close()
    finally:
        for pr in procs:
            pr.terminate()
        for pr in procs:
            pr.wait(10)
        if failures == 0:
            subprocess.run(["rm", "-rf", d])
        else:
            print("logs in %s" % d)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
