"""A tiny Chrome DevTools Protocol client on the standard library, for the browser test.

Opens a page in headless Chromium and reports what a reader's browser would
see: console errors, uncaught exceptions, failed loads, and whether every
image decoded.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--remote-debugging-port=0"]


class WebSocket:
    """Client side of RFC 6455, text frames only (what the DevTools protocol uses)."""

    def __init__(self, url: str, timeout: float = 30):
        rest = url.split("://", 1)[1]
        hostport, path = rest.split("/", 1)
        host, port = hostport.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.decode(errors="replace"))

    def send(self, text: str) -> None:
        data = text.encode()
        header = bytearray([0x81])
        if len(data) < 126:
            header.append(0x80 | len(data))
        elif len(data) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        mask = os.urandom(4)
        self.sock.sendall(bytes(header) + mask + bytes(b ^ mask[i % 4] for i, b in
                                                       enumerate(data)))

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            out += chunk
        return out

    def recv(self) -> str:
        message = b""
        while True:
            b1, b2 = self._exact(2)
            n = b2 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b1 & 0x0F
            if opcode in (0x1, 0x0):
                message += payload
                if b1 & 0x80:
                    return message.decode()
            elif opcode == 0x8:
                raise ConnectionError("DevTools closed the connection")


def inspect_page(chromium: str, url: str, timeout: float = 30) -> dict:
    """Load ``url``; return console errors, exceptions, failed loads and image sizes."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        proc = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not port_file.exists() or not port_file.read_text().strip():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("Chromium did not open its DevTools port")
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
            page = next(t for t in targets if t["type"] == "page")
            ws = WebSocket(page["webSocketDebuggerUrl"], timeout)
            return _drive(ws, url, timeout)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _drive(ws: WebSocket, url: str, timeout: float) -> dict:
    ids = iter(range(1, 10**6))
    errors: list[str] = []

    def call(method: str, **params) -> int:
        i = next(ids)
        ws.send(json.dumps({"id": i, "method": method, "params": params}))
        return i

    def until(predicate):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            method = msg.get("method")
            if method == "Runtime.consoleAPICalled" and msg["params"]["type"] in ("error",
                                                                                  "assert"):
                errors.append(json.dumps(msg["params"]["args"])[:300])
            elif method == "Runtime.exceptionThrown":
                errors.append(msg["params"]["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and msg["params"]["entry"]["level"] == "error":
                errors.append(msg["params"]["entry"].get("text", "") + " "
                              + msg["params"]["entry"].get("url", ""))
            if predicate(msg):
                return msg
        raise TimeoutError("page did not finish loading")

    for method in ("Page.enable", "Runtime.enable", "Log.enable"):
        i = call(method)
        until(lambda m, i=i: m.get("id") == i)
    call("Page.navigate", url=url)
    until(lambda m: m.get("method") == "Page.loadEventFired")
    i = call("Runtime.evaluate", returnByValue=True, expression=(
        "JSON.stringify(Array.from(document.images).map(im => "
        "[im.complete, im.naturalWidth, im.naturalHeight]))"))
    result = until(lambda m: m.get("id") == i)
    images = json.loads(result["result"]["result"]["value"])
    i = call("Runtime.evaluate", returnByValue=True,
             expression="document.querySelectorAll('script').length")
    scripts = until(lambda m: m.get("id") == i)["result"]["result"]["value"]
    time.sleep(0.3)  # late console messages
    return {"errors": errors, "images": images, "scripts": scripts}
