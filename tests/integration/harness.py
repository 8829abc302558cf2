"""Shared helpers for the converge integration tests (standard library only).

Every test file is one CTest test and may run in parallel with another one, so each test class
starts its own `converge sandbox` (emulated Marathon) on a free loopback port and each test uses
its own temporary spec and state directories.

    $CONVERGE_BIN          the converge binary under test (required)
    $CONVERGE_SOURCE_DIR   the source tree (optional; for the examples)

Typical use:

    class T(harness.SandboxTestCase):
        DEPLOY_MS = 300

        def test_x(self):
            ws = self.workspace()                    # temp specs/ + state/, Backend "sb" written
            ws.write("a.yaml", harness.app_yaml("/t/a", image="img/a:1"))
            code, out, err = ws.converge("apply", ws.spec_dir, "--auto-approve")
            self.assertEqual(self.sandbox.app("/t/a")["container"]["docker"]["image"], "img/a:1")
"""

import base64
import json
import os
import re
import select
import shutil
import signal
import sys
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
import sandbox_util  # noqa: E402  (tests/compat: the sandbox process, shared)

# Commands that read or write the state directory (they get --state-dir).
_STATE_COMMANDS = {"plan", "apply", "history", "snapshots", "rollback", "hold", "release",
                   "import", "rerun", "watch"}

DEFAULT_TIMEOUT = 60


def converge_bin():
    binary = os.environ.get("CONVERGE_BIN")
    if not binary:
        raise unittest.SkipTest("CONVERGE_BIN is not set (path to the converge binary)")
    return binary


def source_dir():
    env = os.environ.get("CONVERGE_SOURCE_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", ".."))


# ----- the sandbox ------------------------------------------------------------------------------


class Sandbox(sandbox_util.Sandbox):
    """A running `converge sandbox` process (emulated Marathon under /marathon), with the admin
    and Marathon helpers below. Starting and stopping the process is shared with the
    compatibility tests (tests/compat/sandbox_util.py)."""

    def __init__(self, deploy_ms=300, extra_args=(), start_timeout=20, basic_auth=None):
        converge_bin()  # skip, rather than fail, when the binary is not given
        extra = list(extra_args)
        # "user:pass": the sandbox requires it on /marathon (admin endpoints never need it)
        self.basic_auth = basic_auth
        if basic_auth:
            extra += ["--marathon-basic-auth", basic_auth]
        super().__init__(deploy_ms=deploy_ms, extra_args=extra, start_timeout=start_timeout)

    # ----- raw HTTP ---------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=30):
        """Returns (status, parsed JSON body or text or None)."""
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
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _decode(err.read())

    def marathon(self, method, path, body=None, headers=None):
        hdrs = {}
        if self.basic_auth:
            hdrs["Authorization"] = "Basic " + base64.b64encode(self.basic_auth.encode()).decode()
        hdrs.update(headers or {})
        return self.request(method, "/marathon" + path, body, hdrs)

    def admin(self, method, path, body=None):
        status, payload = self.request(method, "/_admin" + path, body)
        if status >= 300:
            raise RuntimeError("admin %s %s -> %s %s" % (method, path, status, payload))
        return payload

    # ----- admin helpers ----------------------------------------------------------------------

    def reset(self):
        """Wipes apps and deployments, faults, unhealthy images and the request counters, and
        restores the deploy duration given at start."""
        self.admin("POST", "/reset")
        self.clear_faults()
        self.set_unhealthy_images([])
        if self.deploy_ms is not None:
            self.set_deploy_ms(self.deploy_ms)
        self.reset_requests()

    def add_fault(self, **rule):
        """e.g. add_fault(method="PUT", path_regex="^/v2/apps", status=500, rate=1.0)."""
        rule.setdefault("backend", "marathon")
        return self.admin("POST", "/faults", rule)

    def faults(self):
        return self.admin("GET", "/faults")["faults"]

    def clear_faults(self):
        return self.admin("DELETE", "/faults")

    def set_unhealthy_images(self, images):
        return self.admin("POST", "/marathon/unhealthy-images", {"images": list(images)})

    def set_deploy_ms(self, ms):
        return self.admin("POST", "/marathon/deploy-ms", {"ms": int(ms)})

    def requests(self):
        """{"total", "by_method", "writes", "log": [...]}"""
        return self.admin("GET", "/requests")

    def reset_requests(self):
        return self.admin("DELETE", "/requests")

    def writes(self):
        return int(self.requests().get("writes", 0))

    # ----- Marathon helpers -------------------------------------------------------------------

    def apps(self):
        """Live apps as a list (GET /marathon/v2/apps)."""
        status, body = self.marathon("GET", "/v2/apps")
        if status != 200:
            raise RuntimeError("GET /v2/apps -> %s %s" % (status, body))
        return body["apps"]

    def app_ids(self):
        return sorted(a["id"] for a in self.apps())

    def app(self, app_id):
        """The live app from the list, or None."""
        for a in self.apps():
            if a["id"] == app_id:
                return a
        return None

    def put_app(self, app_id, definition, force=True):
        """Changes an app directly in the sandbox (behind converge's back)."""
        path = "/v2/apps" + app_id + ("?force=true" if force else "")
        status, body = self.marathon("PUT", path, definition)
        if status >= 300:
            raise RuntimeError("PUT %s -> %s %s" % (path, status, body))
        return body

    def post_app(self, definition):
        """Creates an app directly in the sandbox (not owned by converge)."""
        status, body = self.marathon("POST", "/v2/apps", definition)
        if status >= 300:
            raise RuntimeError("POST /v2/apps -> %s %s" % (status, body))
        return body

    def wait_for_deployments(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, deployments = self.marathon("GET", "/v2/deployments")
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


def image_of(app):
    return ((app or {}).get("container") or {}).get("docker", {}).get("image")


# ----- YAML for specs ---------------------------------------------------------------------------


def _scalar(v):
    # JSON scalars are valid YAML 1.2 flow scalars; JSON strings are double-quoted YAML strings.
    return json.dumps(v)


def to_yaml(value, indent=0):
    """A small block-YAML emitter for dicts of scalars/dicts/lists (lists as JSON flow)."""
    pad = " " * indent
    lines = []
    for k, v in value.items():
        key = k if re.match(r"^[A-Za-z_][A-Za-z0-9_.\-]*$", k) else json.dumps(k)
        if isinstance(v, dict) and v:
            lines.append("%s%s:" % (pad, key))
            lines.append(to_yaml(v, indent + 2))
        elif isinstance(v, (dict, list)):
            lines.append("%s%s: %s" % (pad, key, json.dumps(v)))
        else:
            lines.append("%s%s: %s" % (pad, key, _scalar(v)))
    return "\n".join(lines)


def document(kind, name, spec, backend=None, labels=None, annotations=None):
    meta = {"name": name}
    if backend:
        meta["backend"] = backend
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return to_yaml({"apiVersion": "converge/v1", "kind": kind, "metadata": meta,
                    "spec": spec}) + "\n"


def backend_yaml(url, name="sb", auth=None, prune=None, auto_rollback=None, health_timeout=None):
    spec = {"type": "marathon", "url": url, "auth": auth or {"type": "none"}}
    if prune is not None:
        spec["prune"] = prune
    if auto_rollback is not None:
        spec["autoRollback"] = auto_rollback
    if health_timeout is not None:
        spec["healthTimeout"] = health_timeout
    return document("Backend", name, spec)


def app_spec(image="img/app:1", instances=1, env=None, labels=None, cpus=0.1, mem=32, **extra):
    spec = {"instances": instances, "cpus": cpus, "mem": mem,
            "container": {"type": "DOCKER", "docker": {"image": image}}}
    if env:
        spec["env"] = dict(env)
    if labels:
        spec["labels"] = dict(labels)
    spec.update(extra)
    return spec


def app_yaml(app_id, image="img/app:1", instances=1, env=None, labels=None, backend=None,
             annotations=None, meta_labels=None, **extra):
    """An App document; `labels` are the Marathon labels (spec.labels), `meta_labels` the
    envelope's metadata.labels."""
    return document("App", app_id, app_spec(image, instances, env, labels, **extra),
                    backend=backend, labels=meta_labels, annotations=annotations)


# ----- a workspace: specs + state + the converge command ---------------------------------------


class Workspace:
    """A temporary spec directory and state directory, and a way to run converge on them."""

    def __init__(self, sandbox=None, backend=True, root=None):
        self.root = root or tempfile.mkdtemp(prefix="converge-it-")
        self.spec_dir = os.path.join(self.root, "specs")
        self.state_dir = os.path.join(self.root, "state")
        os.makedirs(self.spec_dir)
        self.sandbox = sandbox
        self.env = {}
        if sandbox is not None and backend:
            self.write("backend.yaml", backend_yaml(sandbox.marathon_url))

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def path(self, relpath):
        return os.path.join(self.spec_dir, relpath)

    def write(self, relpath, text):
        p = self.path(relpath)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def remove(self, relpath):
        os.remove(self.path(relpath))

    def _env(self, extra=None):
        env = dict(os.environ)
        env.pop("CONVERGE_STATE_DIR", None)
        env.pop("CONVERGE_INSTANCE", None)
        env["NO_COLOR"] = "1"
        env.update(self.env)
        env.update(extra or {})
        return env

    def command(self, *args):
        args = [str(a) for a in args]
        cmd = [converge_bin(), "--no-color"] + args
        if args and args[0] in _STATE_COMMANDS and "--state-dir" not in args:
            cmd += ["--state-dir", self.state_dir]
        return cmd

    def converge(self, *args, timeout=DEFAULT_TIMEOUT, env=None):
        """Runs converge; returns (exit code, stdout, stderr)."""
        cmd = self.command(*args)
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout, env=self._env(env))
        except subprocess.TimeoutExpired as e:
            raise AssertionError("converge %s did not finish in %ss; stdout: %s stderr: %s" % (
                " ".join(cmd[1:]), timeout, _text(e.stdout), _text(e.stderr)))
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def popen(self, *args, env=None, stderr=subprocess.PIPE):
        """Starts converge in the background (stdout/stderr pipes)."""
        return subprocess.Popen(self.command(*args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=stderr, env=self._env(env))

    # ----- shortcuts ------------------------------------------------------------------------

    def plan(self, *extra, timeout=DEFAULT_TIMEOUT, env=None):
        return self.converge("plan", self.spec_dir, *extra, timeout=timeout, env=env)

    def plan_json(self, *extra, env=None, expect_codes=(0, 2)):
        code, out, err = self.converge("plan", self.spec_dir, "-o", "json", *extra, env=env)
        if code not in expect_codes:
            raise AssertionError("plan -o json exited %d\nstdout: %s\nstderr: %s" % (code, out, err))
        return json.loads(out)

    def apply(self, *extra, timeout=DEFAULT_TIMEOUT, env=None):
        return self.converge("apply", self.spec_dir, "--auto-approve", *extra, timeout=timeout,
                             env=env)

    def history(self, *extra):
        code, out, err = self.converge("history", "-o", "json", *extra)
        if code != 0:
            raise AssertionError("history exited %d: %s %s" % (code, out, err))
        return json.loads(out)

    def snapshots(self, key):
        code, out, err = self.converge("snapshots", key, "-o", "json")
        if code != 0:
            raise AssertionError("snapshots exited %d: %s %s" % (code, out, err))
        return json.loads(out)


def _text(b):
    if b is None:
        return ""
    return b.decode(errors="replace") if isinstance(b, bytes) else b


def changes_by_name(plan):
    return {c["name"]: c for c in plan["changes"]}


def skipped_by_name(plan):
    return {s.get("name") or s.get("key"): s for s in plan.get("skipped", [])}


# ----- test base class --------------------------------------------------------------------------


class SandboxTestCase(unittest.TestCase):
    """One sandbox per test class; reset (apps, faults, counters) before every test; a fresh
    workspace per test via self.workspace()."""

    DEPLOY_MS = 300
    SANDBOX_ARGS = ()
    BASIC_AUTH = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = Sandbox(deploy_ms=cls.DEPLOY_MS, extra_args=cls.SANDBOX_ARGS,
                              basic_auth=cls.BASIC_AUTH).start()

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def workspace(self, backend=True):
        ws = Workspace(self.sandbox, backend=backend)
        self.addCleanup(ws.cleanup)
        return ws

    # ----- assertions -----------------------------------------------------------------------

    def assertRun(self, result, code=0, msg=None):
        """Asserts the exit code of a (code, out, err) triple and returns it."""
        c, out, err = result
        if c != code:
            self.fail("%sexpected exit %d, got %d\n--- stdout\n%s\n--- stderr\n%s" % (
                (msg + ": ") if msg else "", code, c, out, err))
        return result

    def assertApplied(self, ws, *extra):
        code, out, err = self.assertRun(ws.apply(*extra), 0, "apply")
        self.assertIn("Apply complete!", out)
        return code, out, err

    def assertNoChanges(self, ws, *extra):
        code, out, err = self.assertRun(ws.plan("--detailed-exitcode", *extra), 0, "plan")
        self.assertIn("No changes.", out)
        return out

    def assertImage(self, app_id, image):
        app = self.sandbox.app(app_id)
        self.assertIsNotNone(app, "%s does not exist in the sandbox" % app_id)
        self.assertEqual(image_of(app), image, "live image of %s" % app_id)
