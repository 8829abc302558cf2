"""Runs `converge sandbox` as a subprocess for the compatibility tests.

The binary comes from $CONVERGE_BIN. The sandbox is started with `--listen 127.0.0.1:0`; its
first stdout line ("converge sandbox listening on http://127.0.0.1:PORT") gives the URL.
Stopping sends SIGTERM and, if the process does not exit in time, SIGKILL.
"""

import json
import os
import re
import select
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

_LISTENING = re.compile(r"converge sandbox listening on (http://\S+)")


def upstream_dir():
    """The upstream Marathon spec directory ($CONVERGE_MARATHON_UPSTREAM_DIR)."""
    env = os.environ.get("CONVERGE_MARATHON_UPSTREAM_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "reconcilers", "marathon", "upstream"))


def upstream_example(name):
    with open(os.path.join(upstream_dir(), "raml", "v2", "examples", name)) as f:
        return json.load(f)


class Sandbox:
    """A running `converge sandbox`; use as a context manager or call start()/stop()."""

    def __init__(self, deploy_ms=None, state_file=None, extra_args=(), start_timeout=20):
        self.deploy_ms = deploy_ms
        self.state_file = state_file
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.proc = None
        self.url = None
        self._stderr = None
        self._saved_stderr = ""

    @property
    def marathon_url(self):
        return self.url + "/marathon"

    @property
    def sagemaker_url(self):
        """boto3's endpoint_url for the SageMaker emulator (SigV4 test credentials: the
        --sagemaker-access-key/--sagemaker-secret-key flags, default AKIDSANDBOX/sandbox-secret)."""
        return self.url + "/sagemaker"

    def start(self):
        binary = os.environ.get("CONVERGE_BIN")
        if not binary:
            raise RuntimeError("CONVERGE_BIN is not set (path to the converge binary)")
        cmd = [binary, "sandbox", "--listen", "127.0.0.1:0"]
        if self.deploy_ms is not None:
            cmd += ["--marathon-deploy-ms", str(self.deploy_ms)]
        if self.state_file:
            cmd += ["--state", self.state_file]
        cmd += self.extra_args
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("sandbox did not start: %r, stderr: %s" % (line, self.stderr()))
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    continue
                line += chunk
        match = _LISTENING.search(line.decode())
        if not match:
            self.stop()
            raise RuntimeError("unexpected sandbox output: %r" % line)
        self.url = match.group(1).rstrip("/")
        return self

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after `timeout` seconds. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        code = self.proc.returncode
        self.proc = None
        self._saved_stderr = self.stderr()
        self._stderr.close()
        self._stderr = None
        return code

    def stderr(self):
        """What the sandbox wrote to stderr so far (or before it was stopped)."""
        if self._stderr is None:
            return self._saved_stderr
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ----- raw HTTP helpers (no third-party dependencies) --------------------------------------

    def request(self, method, path, body=None, headers=None):
        """Sends a request to the sandbox; returns (status, headers, parsed JSON body or text)."""
        data = None
        hdrs = {"Accept": "application/json"}
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), _decode(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), _decode(err.read())

    def marathon(self, method, path, body=None, headers=None):
        return self.request(method, "/marathon" + path, body, headers)

    def admin(self, method, path, body=None):
        status, _, payload = self.request(method, "/_admin" + path, body)
        if status >= 300:
            raise RuntimeError("admin %s %s -> %s %s" % (method, path, status, payload))
        return payload

    def reset(self):
        self.admin("POST", "/reset")
        self.admin("DELETE", "/faults")

    def wait_for_deployments(self, timeout=20):
        """Waits until GET /v2/deployments is empty."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, _, deployments = self.marathon("GET", "/v2/deployments")
            if status == 200 and deployments == []:
                return
            time.sleep(0.05)
        raise AssertionError("deployments still running after %ss" % timeout)


def _decode(raw):
    if not raw:
        return None
    text = raw.decode(errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
