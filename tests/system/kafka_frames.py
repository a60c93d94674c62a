"""kafka_frames.py — raw Kafka frames for tests and benchmarks that must see exactly
what a broker answers (no client library retrying in between).

  free_ports(n)                               n free TCP ports on 127.0.0.1
  request(api_key, version, corr, body, client)   one size-prefixed request (header v1)
  read_frame(sock)                            one response frame's bytes (after the size)
"""
import socket
import struct


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def request(api_key, version, corr, body=b"", client=b"streamlab-test"):
    header = struct.pack(">hhih", api_key, version, corr, len(client)) + client
    return struct.pack(">i", len(header) + len(body)) + header + body


def read_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed by the broker")
        out += chunk
    return out


def read_frame(sock):
    return read_exact(sock, struct.unpack(">i", read_exact(sock, 4))[0])
