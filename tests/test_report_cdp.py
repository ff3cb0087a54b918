"""A tiny Chrome DevTools Protocol client on the standard library, for the browser tests.

Opens pages in one headless Chromium at a phone's and a desktop's width and
reports what a reader's browser would see: how wide the page is against the
window, console errors, uncaught exceptions, failed loads, whether every image
decoded and has alt text (:func:`page_problems`); takes screenshots.
Chromium comes from Debian (``/usr/bin/chromium``; .ci/run installs it), not
from a download.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
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


# What the page reports after loading: its width against the window's, the elements that
# stick out past the window (outside any box that scrolls on its own), and every image.
MEASURE = """JSON.stringify((() => {
  const win = window.innerWidth, doc = document.documentElement;
  const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if ((o === 'auto' || o === 'scroll' || o === 'hidden') && p !== doc
          && p !== document.body) return true; } return false; };
  const wide = Array.from(document.querySelectorAll('body *'))
    .filter(el => el.getBoundingClientRect().right > win + 0.5 && !scrolls(el))
    .slice(0, 8).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
      + ' ' + Math.round(el.getBoundingClientRect().right) + 'px');
  // a table's title and note must be readable without scrolling the table sideways: inside
  // the window and inside the box that scrolls (whose edge clips them, scroll bar excluded)
  const edge = el => { let right = Math.min(win, doc.clientWidth);
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') {
        const box = p.getBoundingClientRect();
        right = Math.min(right, box.left + p.clientLeft + p.clientWidth); } }
    return right; };
  const cut = Array.from(document.querySelectorAll('table caption, table tfoot .note'))
    .filter(el => el.getBoundingClientRect().right > edge(el) + 0.5)
    .slice(0, 5).map(el => el.textContent.slice(0, 60));
  return {scrollWidth: doc.scrollWidth, innerWidth: win, clientWidth: doc.clientWidth,
    wide: wide, cut: cut, scripts: document.querySelectorAll('script').length,
    images: Array.from(document.images).map(im => ({complete: im.complete,
      width: im.naturalWidth, height: im.naturalHeight, alt: im.getAttribute('alt'),
      shown: Math.round(im.getBoundingClientRect().width)}))};
})())"""


class Browser:
    """One headless Chromium for many pages: open each at a window width, measure, screenshot.

    Starting Chromium costs about a second; one browser serves every page and
    width of a test run (the session fixture `browser` of tests/conftest.py). Use as a
    context manager.
    """

    def __init__(self, chromium: str, timeout: float = 30):
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        self.proc = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={self._profile.name}",
                                      "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port_file = Path(self._profile.name) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not port_file.exists() or not port_file.read_text().strip():
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("Chromium did not open its DevTools port")
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
            target = next(t for t in targets if t["type"] == "page")
            self.ws = WebSocket(target["webSocketDebuggerUrl"], timeout)
            self._ids = iter(range(1, 10**9))
            self.errors: list[str] = []
            for method in ("Page.enable", "Runtime.enable", "Log.enable"):
                self.call(method)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._profile.cleanup()

    # ---- the protocol ----------------------------------------------------------
    def send(self, method: str, **params) -> int:
        i = next(self._ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        return i

    def until(self, predicate) -> dict:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            method, params = msg.get("method"), msg.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                self.errors.append(json.dumps(params["args"])[:300])
            elif method == "Runtime.exceptionThrown":
                self.errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                self.errors.append(params["entry"].get("text", "") + " "
                                   + params["entry"].get("url", ""))
            if predicate(msg):
                return msg
        raise TimeoutError("Chromium did not answer in time")

    def call(self, method: str, **params) -> dict:
        i = self.send(method, **params)
        reply = self.until(lambda m: m.get("id") == i)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"].get("value")

    # ---- what a test asks ------------------------------------------------------
    def open(self, url: str, width: int = 1280, height: int = 900) -> dict:
        """Load ``url`` in a window ``width`` px wide; measure it (see :data:`MEASURE`).

        The window is a desktop one (no mobile zoom-out), so a page wider than
        the window is a page the reader scrolls sideways.
        """
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.errors = []
        self.send("Page.navigate", url=url)
        self.until(lambda m: m.get("method") == "Page.loadEventFired")
        page = json.loads(self.evaluate(MEASURE))
        time.sleep(0.1)  # late console messages
        self.evaluate("1")
        page["errors"] = list(self.errors)
        return page

    def screenshot(self, path: Path) -> Path:
        """The whole page of the last :meth:`open` as a PNG at ``path``."""
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


# ---- the checks every report gets (tests/test_report.py, test_case_studies.py, own_data) ----
WIDTHS = (390, 1280)  # a phone (iPhone 12-15) and a desktop window, in CSS px
MAX_BYTES = 1_000_000  # a report a reader can open on a phone's data plan
SCREENSHOTS = "BACKPAIN_SCREENSHOTS"  # a folder: every checked page is photographed into it


def find_chromium() -> str:
    """Debian's ``chromium`` (what .ci/run installs); the test fails without it, never skips."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").is_file():
        found = "/usr/bin/chromium"
    if found is None:
        raise RuntimeError("chromium is missing: install it (apt-get install chromium; "
                           ".ci/run does) to run the browser tests")
    return found


def page_problems(browser: Browser, path: Path, widths=WIDTHS, *, label: str = "") -> list[str]:
    """What a reader would stumble on in ``path`` at each width, as sentences (none: fine).

    At each width: the page no wider than the window (a wide table scrolls in
    its own box), every image decoded, with a non-empty ``alt``, and no
    console error; the file under :data:`MAX_BYTES`. With the environment
    variable ``BACKPAIN_SCREENSHOTS`` set to a folder, each page is saved there
    as ``<label><name>_<width>.png`` for a person to look at.
    """
    problems = []
    size = path.stat().st_size
    if size > MAX_BYTES:
        problems.append(f"{path.name}: {size:,} bytes, more than {MAX_BYTES:,}")
    shots = os.environ.get(SCREENSHOTS)
    for width in widths:
        page = browser.open(path.as_uri(), width)
        where = f"{path.name} at {width} px"
        if page["scrollWidth"] > min(page["clientWidth"], page["innerWidth"]):
            problems.append(f"{where}: the page is {page['scrollWidth']} px wide in a "
                            f"{page['clientWidth']} px window; too wide: {page['wide']}")
        problems += [f"{where}: a table's title or note runs off the screen: {text!r}"
                     for text in page["cut"]]
        for k, image in enumerate(page["images"], 1):
            if not (image["complete"] and image["width"] > 0 and image["height"] > 0):
                problems.append(f"{where}: image {k} did not load")
            if not (image["alt"] or "").strip():
                problems.append(f"{where}: image {k} has no alt text")
            if image["shown"] > width:
                problems.append(f"{where}: image {k} is {image['shown']} px wide")
        problems += [f"{where}: console: {e}" for e in page["errors"]]
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            browser.screenshot(Path(shots) / f"{label}{path.stem}_{width}.png")
    return problems
