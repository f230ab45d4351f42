"""A loopback proxy that signs device requests for the API tester.

Schemathesis cannot sign a request: every device request carries an
Ed25519 signature over its method, path with query, body digest, time and
nonce (see fieldbook_core::sync::protocol::SignedRequest::signing_string). This proxy
enrols devices with the office's credential and, for a request whose
signature header is the placeholder schemathesis is configured to send
(tests/api/schemathesis.toml), replaces the four device headers with a
valid signature over the exact bytes it forwards. Anything else (no
headers, or the wrong values schemathesis sends to test authentication)
is forwarded as it is, so those requests still meet the server's 401. `/v1/sync/shredded` is signed by a
fresh device each time, so the main device is never shredded mid-run.

usage: signing_proxy.py UPSTREAM_URL  (office token in FIELDBOOK_OFFICE_TOKEN)
Prints "listening on http://127.0.0.1:PORT" once ready.
"""

import hashlib
import http.client
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

UPSTREAM = urllib.parse.urlsplit(sys.argv[1])
TOKEN = os.environ["FIELDBOOK_OFFICE_TOKEN"]
OFFICER = "api-tester"
HEADERS = ("x-fieldbook-device", "x-fieldbook-timestamp", "x-fieldbook-nonce", "x-fieldbook-signature")
PLACEHOLDER = "sign-me"
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def upstream(method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def office(method, path, payload=None):
    body = b"" if payload is None else json.dumps(payload).encode()
    status, _, data = upstream(
        method, path, body, {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    )
    if status >= 300:
        raise SystemExit(f"office call {path} failed: {status}")
    return json.loads(data) if data else None


def enrol():
    code = office("POST", f"/v1/office/officers/{OFFICER}/enrolment-codes")["code"]
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    body = json.dumps({"code": code, "public_key": public, "label": "api tester"}).encode()
    status, _, data = upstream("POST", "/v1/enrol", body, {"Content-Type": "application/json"})
    if status != 200:
        raise SystemExit(f"enrolment failed: {status}")
    return json.loads(data)["device_id"], key


def sign(device, method, path, body, encoding=""):
    device_id, key = device
    ts = str(int(time.time() * 1000))
    nonce = secrets.token_hex(16)
    # fieldbook_core::sync::protocol::SignedRequest::signing_string (v2):
    # the device id and the content encoding are signed too, and the body
    # is hashed as sent.
    text = "\n".join(
        [
            "fieldbook-request-v2",
            method.upper(),
            path,
            device_id,
            encoding.lower(),
            hashlib.sha256(body).hexdigest(),
            ts,
            nonce,
        ]
    )
    return {
        "x-fieldbook-device": device_id,
        "x-fieldbook-timestamp": ts,
        "x-fieldbook-nonce": nonce,
        "x-fieldbook-signature": key.sign(text.encode()).hex(),
    }


office("POST", "/v1/office/officers", {"id": OFFICER, "name": "API tester", "role": "supervisor"})
MAIN = enrol()
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        signed = self.headers.get("x-fieldbook-signature") == PLACEHOLDER
        if signed:
            for h in list(headers):
                if h.lower() in HEADERS:
                    del headers[h]
            if self.path.startswith("/v1/sync/shredded"):
                with LOCK:
                    device = enrol()
            else:
                device = MAIN
            encoding = self.headers.get("content-encoding") or ""
            headers.update(sign(device, self.command, self.path, body, encoding))
        status, resp_headers, data = upstream(self.command, self.path, body, headers)
        self.send_response(status)
        for k, v in resp_headers:
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def __getattr__(self, name):
        # Every method (TRACE, PROPFIND, …) is forwarded as it is.
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
