"""The status page of `converge watch` in a real browser: headless Debian chromium driven by
chromium-driver through Selenium, against `converge watch` on a `converge sandbox`.

One watch and one browser for the whole class (start-up is most of the time): the overview lists
the resources and their states, a drift made through the sandbox's Marathon API shows on the open
page without a reload, a rolled-back change shows as held, a hostile label is text and runs no
script, the resource pages show the plan's field diff, the runs page draws its timeline.
Screenshots of every page go to $CONVERGE_TEST_OUTPUT_DIR (CTest: build/test-output/browser).

When chromium or its driver cannot start here, the tests are skipped with the reason.
"""

import os
import shutil
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from harness import app_yaml  # noqa: E402
from test_watch import Watch, wait_until  # noqa: E402

HOSTILE = "<script>alert(1)</script>"
CHROMIUM = os.environ.get("CONVERGE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CONVERGE_CHROMEDRIVER", "/usr/bin/chromedriver")


def start_browser():
    """A headless chromium, or raises unittest.SkipTest saying exactly why not."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        raise unittest.SkipTest("python3-selenium is not installed (scripts/deps.sh): %s" % e)
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise unittest.SkipTest("%s is missing (Debian chromium, chromium-driver: "
                                    "scripts/deps.sh)" % path)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as e:  # WebDriverException and friends: the browser did not start
        raise unittest.SkipTest("chromium did not start: %s" % str(e).strip().splitlines()[0])


def output_dir():
    d = os.environ.get("CONVERGE_TEST_OUTPUT_DIR") or os.path.join(
        tempfile.gettempdir(), "converge-test-output", "browser")
    os.makedirs(d, exist_ok=True)
    return d


class StatusPageTest(harness.SandboxTestCase):
    DEPLOY_MS = 100

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.browser = None
        cls.watch = None
        cls.ws = harness.Workspace(cls.sandbox)
        try:
            cls._start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        ws = cls.ws
        ws.write("web.yaml", app_yaml("/sp/web", image="img/web:1"))
        ws.write("api.yaml", app_yaml("/sp/api", image="img/api:1", instances=2))
        ws.write("hostile.yaml", app_yaml("/sp/hostile", image="img/h:1",
                                          labels={"note": HOSTILE},
                                          meta_labels={"team": HOSTILE}))
        ws.write("bad.yaml", app_yaml("/sp/bad", image="img/bad:1"))
        code, out, err = ws.apply()
        if code != 0:
            raise AssertionError("apply: %s %s" % (out, err))
        # The next revision of /sp/bad never becomes healthy: the watch rolls it back and holds it.
        cls.sandbox.set_unhealthy_images(["img/bad:2"])
        ws.write("bad.yaml", app_yaml("/sp/bad", image="img/bad:2"))
        # 5 s: the rollback itself must be healthy in time on a loaded machine too.
        cls.watch = Watch(ws, "--resync", "1s", "--health-timeout", "5s")
        cls.browser = start_browser()
        cls.browser.set_page_load_timeout(20)
        cls.out = output_dir()

    @classmethod
    def tearDownClass(cls):
        if cls.browser:
            cls.browser.quit()
        if cls.watch and cls.watch.proc.poll() is None:
            cls.watch.stop()
        cls.ws.cleanup()
        super().tearDownClass()

    def setUp(self):
        pass  # one sandbox state for the whole class: no reset between the tests

    # ----- helpers ------------------------------------------------------------------------------

    def open(self, path):
        self.browser.get(self.watch.url + path)

    def screenshot(self, name):
        path = os.path.join(self.out, name + ".png")
        self.browser.save_screenshot(path)
        return path

    def row_state(self, key):
        """The state shown on the open overview for `key`, or None."""
        return self.browser.execute_script(
            "for (const tr of document.querySelectorAll('tr.res')) {"
            "  if (tr.dataset.key === arguments[0])"
            "    return tr.querySelector('.c-state').textContent; }"
            "return null;", key)

    def assertNoAlert(self):
        from selenium.common.exceptions import NoAlertPresentException
        try:
            text = self.browser.switch_to.alert.text
        except NoAlertPresentException:
            return
        self.fail("an alert fired: %r" % text)

    def raw(self, path, method="GET"):
        req = urllib.request.Request(self.watch.url + path, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def wait_held(self):
        wait_until(lambda: self.watch.state_of("App//sp/bad") == "held", timeout=30,
                   what="/sp/bad held after its rollback: " + self.watch.log()[-1500:])

    # ----- the tests (named in the order they run) -----------------------------------------------

    def test_1_overview_lists_resources_and_shows_the_held_one_and_a_drift_live(self):
        self.watch.wait_ready()
        self.open("/")
        # the rollback finishes while the page is open: the page catches up by itself
        wait_until(lambda: self.row_state("App//sp/bad") == "held", timeout=30,
                   what="held on the page: " + self.watch.log()[-1500:])
        for key in ("App//sp/web", "App//sp/api", "App//sp/hostile"):
            wait_until(lambda: self.row_state(key) == "synced", timeout=15, what=key + " synced")
        # held and failed first
        keys = self.browser.execute_script(
            "return Array.from(document.querySelectorAll('tr.res')).map(t => t.dataset.key)")
        self.assertEqual(keys[0], "App//sp/bad", keys)
        self.assertEqual(sorted(keys), ["App//sp/api", "App//sp/bad", "App//sp/hostile",
                                        "App//sp/web"])
        counts = self.browser.execute_script(
            "const o = {}; for (const li of document.querySelectorAll('#counts li'))"
            " o[li.dataset.state] = Number(li.querySelector('.n').textContent); return o;")
        self.assertEqual(counts["held"], 1, counts)
        self.assertEqual(counts["synced"], 3, counts)
        bad_row = self.browser.execute_script(
            "return document.querySelector('tr.res[data-key=\"App//sp/bad\"]').textContent")
        self.assertIn("rolled back", bad_row)

        # the hostile label is shown as text; no script ran, no element was injected
        hostile = self.browser.execute_script(
            "return document.querySelector('tr.res[data-key=\"App//sp/hostile\"] .labels')"
            ".textContent")
        self.assertIn("team=" + HOSTILE, hostile)
        self.assertEqual(self.browser.execute_script(
            "return Array.from(document.scripts).map(s => s.getAttribute('src'))"), ["/ui/app.js"])
        self.assertNoAlert()
        self.screenshot("overview")

        # a drift made behind converge's back shows on the open page without a reload
        self.browser.execute_script("window.__noReload = 'still here'")
        live = self.sandbox.app("/sp/web")
        definition = {k: v for k, v in live.items()
                      if k in ("id", "instances", "cpus", "mem", "container", "labels", "env")}
        definition["container"]["docker"]["image"] = "img/web:hand"
        started = time.monotonic()
        self.sandbox.put_app("/sp/web", definition)
        wait_until(lambda: self.row_state("App//sp/web") == "drifted", timeout=15,
                   what="drift on the open page")
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 10, "drift took %.1fs to show" % elapsed)
        self.assertEqual(self.browser.execute_script("return window.__noReload"), "still here",
                         "the page was reloaded")
        reason = self.browser.execute_script(
            "return document.querySelector('tr.res[data-key=\"App//sp/web\"] .c-reason')"
            ".textContent")
        self.assertIn("container.docker.image", reason)
        self.screenshot("overview-drifted")
        # the filter box narrows the list as one types
        box = self.browser.find_element("id", "filter")
        box.send_keys("drifted")
        wait_until(lambda: self.browser.execute_script(
            "return Array.from(document.querySelectorAll('tr.res')).map(t => t.dataset.key)")
            == ["App//sp/web"], timeout=5, what="filtered to the drifted app")
        box.clear()
        box.send_keys(" ")  # an input event with an empty filter again
        self.assertNoAlert()

    def test_2_resource_pages_show_the_diff_the_hold_and_the_commands(self):
        wait_until(lambda: self.watch.state_of("App//sp/web") == "drifted", timeout=30,
                   what="/sp/web drifted")
        self.wait_held()
        self.open("/")
        link = wait_until(lambda: self.browser.execute_script(
            "const a = document.querySelector('tr.res[data-key=\"App//sp/web\"] a');"
            "return a && a.getAttribute('href');"), timeout=10, what="link to /sp/web")
        self.assertEqual(link, "/resources/sb/App/%2Fsp%2Fweb")
        self.open(link)
        diff = self.browser.find_element("id", "diff").text
        # the same line as `converge plan`: live -> spec
        self.assertIn('~ container.docker.image: "img/web:hand" -> "img/web:1"', diff)
        self.assertEqual(self.browser.find_element("id", "state").text, "drifted")
        self.assertIn("web.yaml:1:1", self.browser.find_element("id", "source").text)
        self.screenshot("resource-drifted")

        self.open("/resources/sb/App/%2Fsp%2Fbad")
        self.assertEqual(self.browser.find_element("id", "state").text, "held")
        body = self.browser.find_element("tag name", "main").text
        self.assertIn('~ container.docker.image: "img/bad:1" -> "img/bad:2"', body)
        self.assertIn("converge release App//sp/bad --state-dir", body)
        self.assertIn("converge rollback App//sp/bad --to", body)
        self.assertIn("rolled_back", body)  # the journal
        self.screenshot("resource-held")

        self.open("/resources/sb/App/%2Fsp%2Fhostile")
        self.assertIn("team=" + HOSTILE, self.browser.find_element("tag name", "main").text)
        self.assertNoAlert()
        self.screenshot("resource-hostile")

    def test_3_runs_page_draws_the_timeline(self):
        self.wait_held()
        self.open("/runs")
        marks = wait_until(lambda: self.browser.execute_script(
            "return Array.from(document.querySelectorAll('#timeline svg .tl-mark'))"
            ".map(m => m.getAttribute('class'))"), timeout=10, what="timeline marks")
        self.assertIn("tl-mark m-rolled-back", marks)
        self.assertIn("tl-mark m-done", marks)
        rows = self.browser.find_elements("css selector", "table.runs tr.run")
        self.assertGreaterEqual(len(rows), 2)  # the apply and the watch's rolled-back run
        self.assertIn("failed", self.browser.find_element("css selector", "table.runs").text)
        self.screenshot("runs")

    def test_4_server_rendered_html_headers_and_methods(self):
        self.wait_held()
        code, headers, html = self.raw("/")
        self.assertEqual(code, 200)
        csp = headers.get("Content-Security-Policy", "")
        self.assertIn("default-src 'self'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff")
        # without JavaScript the overview is complete, and the hostile label is escaped
        self.assertIn("App /sp/bad", html)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", html)
        self.assertNotIn(HOSTILE, html)
        self.assertNotIn("<script>", html.replace('<script src="/ui/app.js" defer></script>', ""))
        code, _, html = self.raw("/?q=held")
        self.assertIn("App /sp/bad", html)
        self.assertNotIn("App /sp/web", html)
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            code, headers, _ = self.raw("/", method=method)
            self.assertEqual(code, 405, method)
            self.assertEqual(headers.get("Allow"), "GET, HEAD")
        self.assertEqual(self.raw("/status", method="POST")[0], 405)
        self.assertEqual(self.raw("/resources/sb/App/%2Fsp%2Fnothing")[0], 404)
        self.assertEqual(self.raw("/resources/other/App/%2Fsp%2Fweb")[0], 404)
        code, headers, js = self.raw("/ui/app.js")
        self.assertEqual(code, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/javascript"))
        self.assertIn("textContent", js)
        # no secret of the Backend reaches a page (the backend spec has none to begin with; the
        # page never renders Backend documents or snapshot contents)
        self.assertNotIn("Authorization", self.raw("/runs")[2])


if __name__ == "__main__":
    unittest.main()
