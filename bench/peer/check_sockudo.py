#!/usr/bin/env python3
"""Check that the Sockudo benchmark peer works as the benchmark expects (python3 stdlib only).

Starts Sockudo with scripts/peer-sockudo.sh in a fresh directory, then:
  1. connects 3 watchers to ws://127.0.0.1:PORT/app/KEY?protocol=7&client=bench&version=1.0,
     waits for pusher:connection_established, subscribes them to channel "board" and waits for
     pusher_internal:subscription_succeeded;
  2. broadcasts one ~1000-byte snapshot with a signed POST /apps/ID/events and checks that all
     3 watchers receive it, byte for byte;
  3. connects 300 more watchers from this one IP at once (the default limit is 20 a minute),
     subscribes them, broadcasts again and checks all 303 receive it; sends 120 signed API
     requests in a row (the default limit is 100 a minute);
  4. stops Sockudo.
Prints every frame and request it relies on. Exit status 0 only if everything held.

usage: bench/peer/check_sockudo.py [--port N] [--clients N] [--keep DIR]
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "peer-sockudo.sh")
CHANNEL = "board"
TIMEOUT = 10.0


def abbreviate(text, keep=160):
    return text if len(text) <= keep else f"{text[:keep]}...<{len(text)} bytes total>"


class WebSocket:
    """Minimal RFC 6455 client: text frames, masking, fragmentation, ping/pong, close."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port, path):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if lines[0].split()[1:2] != ["101"]:
            raise RuntimeError(f"upgrade refused: {lines[0]}")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        expected = base64.b64encode(
            hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        ).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise RuntimeError("bad Sec-WebSocket-Accept")
        return cls(reader, writer)

    async def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def send_text(self, text):
        await self._send_frame(0x1, text.encode())

    async def recv_text(self):
        parts = []
        while True:
            b0, b1 = await self.reader.readexactly(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
            mask = await self.reader.readexactly(4) if b1 & 0x80 else None
            payload = await self.reader.readexactly(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:
                await self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise RuntimeError(f"server closed the socket: code {code} {payload[2:].decode(errors='replace')}")
            parts.append(payload)
            if fin:
                return b"".join(parts).decode()

    async def recv_event(self, wanted):
        """Next frame whose event is `wanted`; answers pusher:ping on the way. Returns (raw, parsed)."""
        while True:
            raw = await asyncio.wait_for(self.recv_text(), TIMEOUT)
            msg = json.loads(raw)
            if msg.get("event") == "pusher:ping":
                await self.send_text(json.dumps({"event": "pusher:pong", "data": {}}))
                continue
            if msg.get("event") == wanted:
                return raw, msg
            if msg.get("event") == "pusher:error":
                raise RuntimeError(f"pusher:error while waiting for {wanted}: {raw}")

    def close(self):
        self.writer.close()


async def watcher(port, key, log=None):
    ws = await WebSocket.connect(port, f"/app/{key}?protocol=7&client=bench&version=1.0")
    raw, msg = await ws.recv_event("pusher:connection_established")
    data = json.loads(msg["data"])  # data is a JSON *string*
    assert data["socket_id"], raw
    if log is not None:
        log.append(("recv", raw))
    sub = json.dumps({"event": "pusher:subscribe", "data": {"channel": CHANNEL}})
    await ws.send_text(sub)
    raw, msg = await ws.recv_event("pusher_internal:subscription_succeeded")
    assert msg.get("channel") == CHANNEL, raw
    if log is not None:
        log.append(("send", sub))
        log.append(("recv", raw))
    return ws


def signed_url(port, app_id, key, secret, method, path, body=None, extra=None):
    params = {"auth_key": key, "auth_timestamp": str(int(time.time())), "auth_version": "1.0"}
    if body is not None:
        params["body_md5"] = hashlib.md5(body).hexdigest()
    params.update(extra or {})
    query = "&".join(f"{k}={params[k]}" for k in sorted(params))
    to_sign = f"{method}\n{path}\n{query}"
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return f"http://127.0.0.1:{port}{path}?{query}&auth_signature={signature}", to_sign


def http(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def trigger(port, env, data):
    app_id, key, secret = env["SOCKUDO_APP_ID"], env["SOCKUDO_APP_KEY"], env["SOCKUDO_APP_SECRET"]
    path = f"/apps/{app_id}/events"
    body = json.dumps({"name": "snapshot", "channel": CHANNEL, "data": data}).encode()
    url, to_sign = signed_url(port, app_id, key, secret, "POST", path, body)
    status, text = http("POST", url, body)
    return url, to_sign, body, status, text


async def expect_broadcast(sockets, data):
    frames = await asyncio.gather(*(ws.recv_event("snapshot") for ws in sockets))
    for raw, msg in frames:
        assert msg.get("channel") == CHANNEL and msg.get("data") == data, abbreviate(raw)
    return frames


async def run_checks(port, env, clients):
    key = env["SOCKUDO_APP_KEY"]
    ok = True

    print("== 1. three watchers")
    log = []
    first = await watcher(port, key, log)
    for direction, text in log:
        print(f"  {direction}: {text}")
    three = [first] + list(await asyncio.gather(*(watcher(port, key) for _ in range(2))))
    print("  3/3 connected and subscribed")

    print("== 2. broadcast via REST")
    data = json.dumps({"board": "main", "rows": [{"rank": i, "player": f"p{i:04d}", "score": 1000 - i} for i in range(1, 21)]})
    data = data.ljust(1000)  # a JSON document padded to exactly 1000 bytes, sent as a string
    url, to_sign, body, status, text = trigger(port, env, data)
    print(f"  POST {abbreviate(url, 400)}")
    print(f"  signing string: {to_sign!r}")
    print(f"  body ({len(body)} bytes): {abbreviate(body.decode(), 100)}")
    print(f"  response: {status} {text}")
    ok &= status == 200
    frames = await expect_broadcast(three, data)
    print(f"  frame ({len(frames[0][0])} bytes): {abbreviate(frames[0][0], 120)}")
    print(f"  frame keys: {list(frames[0][1].keys())}; data is a {type(frames[0][1]['data']).__name__} "
          f"of {len(frames[0][1]['data'])} chars, equal to the published one in 3/3 watchers")

    print(f"== 3. {clients} more watchers from one IP at once, then 120 API calls")
    started = time.monotonic()
    results = await asyncio.gather(*(watcher(port, key) for _ in range(clients)), return_exceptions=True)
    crowd = [r for r in results if isinstance(r, WebSocket)]
    errors = [r for r in results if not isinstance(r, WebSocket)]
    print(f"  {len(crowd)}/{clients} connected and subscribed in {time.monotonic() - started:.2f} s"
          + (f"; first error: {errors[0]!r}" if errors else ""))
    ok &= not errors
    _, _, _, status, text = trigger(port, env, data + "2")
    frames = await expect_broadcast(three + crowd, data + "2")
    print(f"  broadcast: {status} {text}; received by {len(frames)}/{len(three) + len(crowd)} watchers")
    ok &= status == 200 and len(frames) == len(three) + len(crowd)

    app_id, secret = env["SOCKUDO_APP_ID"], env["SOCKUDO_APP_SECRET"]
    path = f"/apps/{app_id}/channels/{CHANNEL}"
    url, _ = signed_url(port, app_id, key, secret, "GET", path, extra={"info": "subscription_count"})
    status, text = http("GET", url)
    print(f"  GET {path}?info=subscription_count -> {status} {text}")
    codes = {}
    for i in range(120):
        status, _ = trigger(port, env, f"tick {i}")[3:5]
        codes[status] = codes.get(status, 0) + 1
    print(f"  120 signed POST /events in a row: status counts {codes}")
    ok &= codes == {200: 120}
    for ws in three + crowd:
        ws.close()
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="port for Sockudo (default: a free one)")
    ap.add_argument("--clients", type=int, default=300)
    ap.add_argument("--keep", help="run directory to use and keep (default: a temporary one, removed)")
    args = ap.parse_args()
    port = args.port
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    run_dir = args.keep or os.path.join(tempfile.mkdtemp(prefix="sockudo-check-"), "run")
    start = subprocess.run([SCRIPT, "start", run_dir, str(port)], stdout=subprocess.PIPE, text=True)
    if start.returncode != 0:
        print("start failed", file=sys.stderr)
        return 1
    env = dict(line.split("=", 1) for line in start.stdout.split())
    print(f"started: {' '.join(f'{k}={v}' for k, v in env.items() if k != 'SOCKUDO_APP_SECRET')} "
          f"SOCKUDO_APP_SECRET=<{len(env['SOCKUDO_APP_SECRET'])} hex chars>, port {port}")
    try:
        ok = asyncio.run(run_checks(port, env, args.clients))
    except Exception as err:  # noqa: BLE001 - report whatever broke, then stop the server
        print(f"FAILED: {err!r}")
        ok = False
    finally:
        subprocess.run([SCRIPT, "stop", run_dir], check=False)
        if not args.keep:
            shutil.rmtree(os.path.dirname(run_dir), ignore_errors=True)
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
