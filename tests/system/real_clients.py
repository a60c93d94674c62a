#!/usr/bin/python3
"""real_clients.py — Python Kafka clients against a streamlab real-mode cluster.

Run with Debian's /usr/bin/python3 (python3-confluent-kafka, python3-kafka).

  real_clients.py confluent BOOTSTRAP TOPIC N     admin-create TOPIC, produce N with acks=all,
                                                  read them back; exit 0 when all N come back
  real_clients.py kafka-python BOOTSTRAP TOPIC N  the same with kafka-python
  real_clients.py confluent-group BOOTSTRAP TOPIC GROUP N
                                                  subscribe in GROUP, read TOPIC's N records,
                                                  commit; a new member resumes at the end
  real_clients.py kafka-python-group BOOTSTRAP TOPIC GROUP N   the same with kafka-python
  real_clients.py produce-log BOOTSTRAP TOPIC SECONDS ACKED_FILE [idempotent]
                                                  produce with acks=all for SECONDS, writing each
                                                  acknowledged value to ACKED_FILE (idempotent:
                                                  enable.idempotence=true)
  real_clients.py group-follow BOOTSTRAP TOPIC GROUP ACKED_FILE OUT_FILE SECONDS
                                                  a group member reading while produce-log runs,
                                                  until it has every acknowledged record
  real_clients.py consume-all BOOTSTRAP TOPIC OUT_FILE
                                                  read every partition from the start to its end
                                                  offset, writing each value to OUT_FILE
  real_clients.py delete-recreate BOOTSTRAP TOPIC
                                                  create TOPIC (3 partitions), write to it, delete
                                                  it: it leaves every broker's metadata; created
                                                  again with 1 partition it is empty and new
  real_clients.py recreate BOOTSTRAP TOPIC REPLICAS PREFIX N
                                                  delete TOPIC when it exists, create it with one
                                                  partition on REPLICAS ("1,3,2": the first
                                                  leads), write PREFIX-0..PREFIX-(N-1), acks=1
  real_clients.py produce BOOTSTRAP TOPIC PREFIX N  write PREFIX-0..PREFIX-(N-1), acks=all
  real_clients.py fetch-error HOST PORT TOPIC PARTITION OFFSET   one Fetch v4: prints the
                                                  partition's error code
  real_clients.py garbage HOST PORT               bad frames on fresh connections: garbage, a
                                                  negative size, an oversized frame, an unknown
                                                  API key and version, a stalled half frame
"""
import socket
import struct
import sys
import time

from kafka_frames import read_frame, request


def fail(msg):
    print("real_clients: FAIL: " + msg, flush=True)
    sys.exit(1)


# ---- confluent-kafka (librdkafka) ------------------------------------------------------------


def confluent_create(bootstrap, topic, partitions=3):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=3)], request_timeout=15
    )
    for f in futures.values():
        f.result(timeout=20)
    # CreateTopics answers once the controller has committed the topic; each broker
    # learns it from the metadata log a moment later (as in Kafka), so wait for it.
    deadline = time.time() + 15
    while True:
        md = admin.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions:
            break
        if time.time() > deadline:
            fail("topic %s not in metadata 15 s after CreateTopics" % topic)
        time.sleep(0.2)


def confluent_consume_all(bootstrap, topic, expect=None, timeout_s=30):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "unused-assign-only",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    md = c.list_topics(topic, timeout=10)
    parts = sorted(md.topics[topic].partitions)
    ends = {}
    for p in parts:
        _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = high
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    values, pos = [], {p: 0 for p in parts}
    deadline = time.time() + timeout_s
    while any(pos[p] < ends[p] for p in parts) and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            print("consume error: %s" % m.error(), flush=True)
            continue
        pos[m.partition()] = m.offset() + 1
        values.append(m.value().decode())
    c.close()
    if any(pos[p] < ends[p] for p in parts):
        fail("consumer stopped at %s, end offsets %s" % (pos, ends))
    return values


def cmd_confluent(bootstrap, topic, n):
    from confluent_kafka import Producer

    confluent_create(bootstrap, topic)
    acked, errors = [], []

    def on_delivery(err, msg):
        (errors if err else acked).append(err or msg.value().decode())

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(n):
        p.produce(topic, key=str(i % 7), value="confluent-%d" % i, on_delivery=on_delivery)
    if p.flush(30) != 0 or errors:
        fail("confluent producer: %d unflushed, errors %s" % (len(p), errors[:3]))
    got = confluent_consume_all(bootstrap, topic)
    if sorted(got) != sorted(acked) or len(acked) != n:
        fail("confluent: acked %d, consumed %d" % (len(acked), len(got)))
    print("confluent-kafka: created %s, produced %d acks=all, consumed %d" % (topic, n, len(got)))


# ---- kafka-python ------------------------------------------------------------------------------


def cmd_kafka_python(bootstrap, topic, n):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic

    servers = bootstrap.split(",")
    admin = KafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=15000)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
    futures = [producer.send(topic, value=b"kafka-python-%d" % i) for i in range(n)]
    producer.flush(30)
    acked = [f.get(timeout=30) for f in futures]
    producer.close()
    consumer = KafkaConsumer(
        bootstrap_servers=servers, enable_auto_commit=False, consumer_timeout_ms=10000
    )
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    ends = consumer.end_offsets(parts)
    got = []
    deadline = time.time() + 30
    while sum(consumer.position(tp) for tp in parts) < sum(ends.values()):
        if time.time() > deadline:
            fail("kafka-python consumer stuck at %d of %d" % (len(got), n))
        for records in consumer.poll(timeout_ms=500).values():
            got.extend(r.value for r in records)
    consumer.close()
    if len(acked) != n or len(got) != n:
        fail("kafka-python: acked %d, consumed %d of %d" % (len(acked), len(got), n))
    print("kafka-python: created %s, produced %d acks=all, consumed %d" % (topic, n, len(got)))


# ---- consumer groups -----------------------------------------------------------------------------


def cmd_confluent_group(bootstrap, topic, group, n):
    """Subscribe in a group, read the topic's n records, commit; a new member of the
    group then finds the committed offsets at the end of every partition."""
    from confluent_kafka import Consumer, TopicPartition

    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
    }
    c = Consumer(conf)
    c.subscribe([topic])
    seen, deadline = set(), time.time() + 60
    while len(seen) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        seen.add((m.partition(), m.offset()))
    if len(seen) < n:
        fail("confluent group %s read %d of %d" % (group, len(seen), n))
    c.commit(asynchronous=False)
    parts = [TopicPartition(topic, p) for p in sorted({p for p, _ in seen})]
    committed = sum(tp.offset for tp in c.committed(parts, timeout=10))
    c.close()
    if committed != n:
        fail("confluent group %s committed offsets sum to %d, expected %d" % (group, committed, n))
    c = Consumer(conf)
    c.subscribe([topic])
    again, end = 0, time.time() + 8
    while time.time() < end:
        m = c.poll(0.5)
        if m is not None and not m.error():
            again += 1
    c.close()
    if again:
        fail("confluent group %s: a new member re-read %d committed records" % (group, again))
    print("confluent-kafka group %s: subscribed, read %d, committed, a new member resumed at the end" % (group, n))


def cmd_kafka_python_group(bootstrap, topic, group, n):
    from kafka import KafkaConsumer, TopicPartition

    servers = bootstrap.split(",")
    c = KafkaConsumer(
        topic,
        bootstrap_servers=servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
    )
    seen, deadline = 0, time.time() + 60
    while seen < n and time.time() < deadline:
        for records in c.poll(timeout_ms=500).values():
            seen += len(records)
    if seen < n:
        fail("kafka-python group %s read %d of %d" % (group, seen, n))
    c.commit()
    parts = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic)]
    committed = sum(c.committed(tp) or 0 for tp in parts)
    c.close()
    if committed != n:
        fail("kafka-python group %s committed offsets sum to %d, expected %d" % (group, committed, n))
    print("kafka-python group %s: subscribed, read %d, committed %d" % (group, seen, committed))


# ---- produce through a broker crash ------------------------------------------------------------


def cmd_produce_log(bootstrap, topic, seconds, acked_file, idempotent=False):
    from confluent_kafka import Producer

    confluent_create(bootstrap, topic)
    out = open(acked_file, "w")
    stats = {"acked": 0, "failed": 0}

    def on_delivery(err, msg):
        if err:
            stats["failed"] += 1
        else:
            stats["acked"] += 1
            out.write(msg.value().decode() + "\n")

    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 60000,
            "enable.idempotence": idempotent,
        }
    )
    end, i = time.time() + seconds, 0
    while time.time() < end:
        try:
            p.produce(topic, value="r-%d" % i, on_delivery=on_delivery)
            i += 1
        except BufferError:
            pass
        p.poll(0.002)
    left = p.flush(90)
    out.close()
    open(acked_file + ".done", "w").close()
    print(
        "producer: sent %d, acked %d, failed %d, unfinished %d"
        % (i, stats["acked"], stats["failed"], left),
        flush=True,
    )
    if stats["acked"] == 0:
        fail("no record acknowledged")


def cmd_group_follow(bootstrap, topic, group, acked_file, out_file, deadline_s):
    """A group member that reads while the producer runs (and a broker dies), until it
    has every acknowledged record (the producer's ACKED_FILE.done says the list is
    final) or deadline_s passes; writes what it read to OUT_FILE."""
    import os

    from confluent_kafka import Consumer

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "auto.commit.interval.ms": 500,
            "session.timeout.ms": 10000,
        }
    )
    c.subscribe([topic])
    seen, acked, end = set(), None, time.time() + deadline_s
    while time.time() < end:
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen.add(m.value().decode())
        if acked is None and os.path.exists(acked_file + ".done"):
            acked = set(open(acked_file).read().split())
        if acked is not None and acked <= seen:
            break
    c.close()
    with open(out_file, "w") as f:
        f.write("\n".join(sorted(seen)) + "\n")
    missing = len(acked - seen) if acked is not None else -1
    print("group consumer %s: read %d distinct records, missing %d acknowledged" % (group, len(seen), missing))
    if missing != 0:
        fail("the group consumer did not read every acknowledged record")


def confluent_produce(bootstrap, topic, values, acks="all"):
    from confluent_kafka import Producer

    acked = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "message.timeout.ms": 20000})
    for v in values:
        p.produce(topic, v.encode(), on_delivery=lambda e, m: acked.append(e is None))
    p.flush(30)
    if len(acked) != len(values) or not all(acked):
        fail("%d of %d records to %s acknowledged" % (sum(acked), len(values), topic))


def confluent_delete(bootstrap, topic):
    """DeleteTopics, then waits until no broker of bootstrap lists the topic (a broker
    answers Metadata from what it hosts)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.delete_topics([topic], request_timeout=15).values():
        f.result(timeout=20)
    for host in bootstrap.split(","):
        one = AdminClient({"bootstrap.servers": host})
        deadline = time.time() + 10
        while True:
            # All topics: a Metadata request naming the topic would auto-create it again
            # (librdkafka's admin client asks with allow_auto_topic_creation, as producers do).
            md = one.list_topics(timeout=10)
            t = md.topics.get(topic)
            if t is None or t.error is not None:
                break
            if time.time() > deadline:
                fail("%s still lists %s 10 s after DeleteTopics" % (host, topic))
            time.sleep(0.2)


def cmd_delete_recreate(bootstrap, topic):
    confluent_create(bootstrap, topic, 3)
    confluent_produce(bootstrap, topic, ["old-%d" % i for i in range(30)])
    confluent_delete(bootstrap, topic)
    print("ok - DeleteTopics: no broker lists %s any more" % topic, flush=True)
    confluent_create(bootstrap, topic, 1)
    values = confluent_consume_all(bootstrap, topic)
    if values:
        fail("%s created again holds %d old records, e.g. %s" % (topic, len(values), values[0]))
    confluent_produce(bootstrap, topic, ["new-%d" % i for i in range(5)])
    values = confluent_consume_all(bootstrap, topic)
    if sorted(values) != ["new-%d" % i for i in range(5)]:
        fail("%s created again reads %s, expected new-0..new-4" % (topic, values))
    print("ok - %s created again with 1 partition is empty, then holds only its new records" % topic,
          flush=True)


def cmd_recreate(bootstrap, topic, replicas, prefix, n):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    if topic in admin.list_topics(timeout=10).topics:
        confluent_delete(bootstrap, topic)
    assignment = [[int(r) for r in replicas.split(",")]]
    for f in admin.create_topics(
        [NewTopic(topic, 1, -1, replica_assignment=assignment)], request_timeout=15
    ).values():
        f.result(timeout=20)
    deadline = time.time() + 15
    while True:
        t = admin.list_topics(timeout=10).topics.get(topic)
        if t is not None and t.error is None and t.partitions and t.partitions[0].leader >= 0:
            break
        if time.time() > deadline:
            fail("topic %s has no leader 15 s after CreateTopics" % topic)
        time.sleep(0.2)
    confluent_produce(bootstrap, topic, ["%s-%d" % (prefix, i) for i in range(n)], acks="1")


def cmd_consume_all(bootstrap, topic, out_file):
    values = confluent_consume_all(bootstrap, topic, timeout_s=60)
    with open(out_file, "w") as f:
        for v in values:
            f.write(v + "\n")
    print("consumer: read %d records" % len(values))


# ---- bad input ------------------------------------------------------------------------------------


def send_and_wait(host, port, data, what, wait_s=3.0):
    """Sends data; returns 'closed' or 'answered' (bytes came back) or 'open'."""
    s = socket.create_connection((host, port), timeout=wait_s)
    try:
        s.sendall(data)
        s.settimeout(wait_s)
        got = s.recv(65536)
        result = "answered" if got else "closed"
    except socket.timeout:
        result = "open"
    except (ConnectionResetError, BrokenPipeError):
        result = "closed"
    s.close()
    print("garbage: %-40s -> %s" % (what, result), flush=True)
    return result


def cmd_garbage(host, port):
    port = int(port)
    cases = [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP request", ("closed",)),
        (struct.pack(">i", -5) + b"xxxx", "negative frame size", ("closed",)),
        (struct.pack(">i", 0x7FFFFFF0) + b"x" * 100, "frame over socket.request.max.bytes", ("closed",)),
        (struct.pack(">i", 3) + b"abc", "frame shorter than a header", ("closed",)),
        (request(999, 0, 7), "unknown API key", ("closed", "answered")),
        (request(3, 99, 8), "unsupported Metadata version", ("closed", "answered")),
        (request(0, 7, 9, b"\xff" * 40), "Produce v7 with a garbage body", ("closed", "answered")),
        (bytes(range(255, -1, -1)) * 8, "binary noise", ("closed",)),
    ]
    bad = 0
    for data, what, allowed in cases:
        r = send_and_wait(host, port, data, what)
        if r not in allowed:
            print("garbage: %s: expected %s, got %s" % (what, " or ".join(allowed), r))
            bad += 1
    # A client that stalls half-way through a frame must not block the others.
    stalled = socket.create_connection((host, port))
    stalled.sendall(struct.pack(">i", 1000) + b"\x00\x03")
    r = send_and_wait(host, port, request(18, 0, 10), "ApiVersions beside a stalled client")
    if r != "answered":
        bad += 1
    stalled.close()
    if bad:
        fail("%d bad-input cases misbehaved" % bad)


def cmd_fetch_error(host, port, topic, partition, offset):
    """One Fetch v4 of topic/partition at offset: prints the partition's error code."""
    t = topic.encode()
    body = struct.pack(">iiiib", -1, 0, 1, 1 << 20, 0)  # a consumer, no wait
    body += struct.pack(">ih", 1, len(t)) + t
    body += struct.pack(">iiqi", 1, int(partition), int(offset), 1 << 20)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(request(1, 4, 77, body, b"fetch-error-test"))
    try:
        resp = read_frame(s)
    except ConnectionError:
        fail("fetch: connection closed")
    s.close()
    # correlation id, throttle ms, [topic name, [partition, error code, ...]]
    name_len = struct.unpack_from(">h", resp, 12)[0]
    _, error = struct.unpack_from(">ih", resp, 14 + name_len + 4)
    print(error)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "confluent":
        cmd_confluent(args[0], args[1], int(args[2]))
    elif cmd == "kafka-python":
        cmd_kafka_python(args[0], args[1], int(args[2]))
    elif cmd == "confluent-group":
        cmd_confluent_group(args[0], args[1], args[2], int(args[3]))
    elif cmd == "kafka-python-group":
        cmd_kafka_python_group(args[0], args[1], args[2], int(args[3]))
    elif cmd == "produce-log":
        cmd_produce_log(args[0], args[1], float(args[2]), args[3], args[4:5] == ["idempotent"])
    elif cmd == "group-follow":
        cmd_group_follow(args[0], args[1], args[2], args[3], args[4], float(args[5]))
    elif cmd == "consume-all":
        cmd_consume_all(args[0], args[1], args[2])
    elif cmd == "delete-recreate":
        cmd_delete_recreate(args[0], args[1])
    elif cmd == "recreate":
        cmd_recreate(args[0], args[1], args[2], args[3], int(args[4]))
    elif cmd == "produce":
        confluent_produce(args[0], args[1], ["%s-%d" % (args[2], i) for i in range(int(args[3]))])
    elif cmd == "fetch-error":
        cmd_fetch_error(args[0], args[1], args[2], args[3], args[4])
    elif cmd == "garbage":
        cmd_garbage(args[0], args[1])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
