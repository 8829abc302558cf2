"""Debian's python3-marathon client against `converge sandbox` (Marathon at <url>/marathon).

The client parses every response into its model classes (unknown fields raise TypeError), so
these tests also check that the emulator's bodies have the member names real Marathon uses.
"""

import logging
import time
import unittest

from marathon import MarathonApp, MarathonClient
from marathon.exceptions import ConflictError, MarathonHttpError, NotFoundError
from marathon.models.app import MarathonHealthCheck
from marathon.models.container import MarathonContainer
from marathon.models.deployment import MarathonDeployment

from sandbox_util import Sandbox

# The client logs every 4xx it raises; the tests assert on those exceptions instead.
logging.getLogger("marathon").setLevel(logging.CRITICAL)


class MarathonClientCompatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(deploy_ms=300).start()
        cls.client = MarathonClient(cls.sandbox.marathon_url, timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.client.session.close()
        cls.client.sse_session.close()
        code = cls.sandbox.stop()
        assert code == 0, "sandbox exited with %s: %s" % (code, cls.sandbox.stderr())

    def setUp(self):
        self.sandbox.reset()

    def wait(self):
        self.sandbox.wait_for_deployments()

    def test_create_list_and_get(self):
        created = self.client.create_app(
            "/compat/web",
            MarathonApp(cmd="sleep 100", cpus=0.1, mem=32, instances=2, labels={"team": "a"}))
        self.assertIsInstance(created, MarathonApp)
        self.assertEqual(created.id, "/compat/web")
        self.assertEqual(created.tasks_running, 0)
        self.assertEqual(len(created.deployments), 1)
        self.assertTrue(created.version)

        self.client.create_app("/compat/db", MarathonApp(cmd="postgres", labels={"team": "b"}))
        self.assertEqual({a.id for a in self.client.list_apps()}, {"/compat/web", "/compat/db"})
        self.assertEqual([a.id for a in self.client.list_apps(app_id="web")], ["/compat/web"])
        self.assertEqual([a.id for a in self.client.list_apps(label="team==b")], ["/compat/db"])
        self.assertEqual([a.id for a in self.client.list_apps(cmd="postgres")], ["/compat/db"])
        embedded = self.client.list_apps(embed_tasks=True, app_id="/compat/web")
        self.assertEqual(len(embedded), 1)

        self.wait()
        app = self.client.get_app("/compat/web")
        self.assertEqual(app.instances, 2)
        self.assertEqual(app.tasks_running, 2)
        self.assertEqual(app.tasks_staged, 0)
        self.assertEqual(app.deployments, [])
        self.assertEqual(app.mem, 32)
        self.assertAlmostEqual(app.cpus, 0.1)
        self.assertEqual(app.labels, {"team": "a"})
        self.assertGreaterEqual(app.port_definitions[0].port, 10000)
        self.assertEqual(len(app.tasks), 2)
        self.assertEqual(app.tasks[0].app_id, "/compat/web")
        self.assertEqual(app.tasks[0].state, "TASK_RUNNING")
        self.assertIsNotNone(app.version_info.last_config_change_at)
        tasks = self.client.list_tasks("/compat/web")
        self.assertEqual({t.id for t in tasks}, {t.id for t in app.tasks})
        self.assertEqual(len(self.client.list_tasks()), 3)

    def test_update_needs_force_while_deploying(self):
        self.client.create_app("/compat/upd", MarathonApp(cmd="sleep 1", instances=1))
        with self.assertRaises(ConflictError) as ctx:
            self.client.update_app("/compat/upd", MarathonApp(cmd="sleep 2"))
        self.assertIn("App is locked by one or more deployments", str(ctx.exception))
        result = self.client.update_app("/compat/upd", MarathonApp(cmd="sleep 2"), force=True)
        self.assertIn("deploymentId", result)
        self.assertIn("version", result)
        deployments = self.client.list_deployments()
        self.assertEqual([d.id for d in deployments], [result["deploymentId"]])
        self.wait()
        app = self.client.get_app("/compat/upd")
        self.assertEqual(app.cmd, "sleep 2")
        self.assertEqual(app.version, result["version"])

    def test_scale(self):
        self.client.create_app("/compat/scale", MarathonApp(cmd="sleep 1", instances=1))
        self.wait()
        before = self.client.get_app("/compat/scale")
        result = self.client.scale_app("/compat/scale", instances=3)
        self.assertIn("deploymentId", result)
        deployments = self.client.list_deployments()
        self.assertEqual(deployments[0].steps[0].actions[0].action, "ScaleApplication")
        self.wait()
        app = self.client.get_app("/compat/scale")
        self.assertEqual(app.instances, 3)
        self.assertEqual(app.tasks_running, 3)
        self.assertEqual(app.version_info.last_config_change_at,
                         before.version_info.last_config_change_at)
        self.client.scale_app("/compat/scale", delta=-2)
        self.wait()
        self.assertEqual(self.client.get_app("/compat/scale").tasks_running, 1)

    def test_list_deployments(self):
        self.client.create_app("/compat/dep", MarathonApp(cmd="sleep 1"))
        deployments = self.client.list_deployments()
        self.assertEqual(len(deployments), 1)
        d = deployments[0]
        self.assertIsInstance(d, MarathonDeployment)
        self.assertEqual(d.affected_apps, ["/compat/dep"])
        self.assertEqual(d.steps[0].actions[0].action, "StartApplication")
        self.assertEqual(d.steps[0].actions[0].app, "/compat/dep")
        self.assertEqual(d.total_steps, len(d.steps))
        self.assertTrue(d.version)
        self.wait()
        self.assertEqual(self.client.list_deployments(), [])

    def test_versions(self):
        self.client.create_app("/compat/ver", MarathonApp(cmd="echo one"))
        self.wait()
        self.client.update_app("/compat/ver", MarathonApp(cmd="echo two"))
        self.wait()
        versions = self.client.list_versions("/compat/ver")
        self.assertEqual(len(versions), 2)
        self.assertGreater(versions[0], versions[1])
        self.assertEqual(self.client.get_version("/compat/ver", versions[1]).cmd, "echo one")
        self.assertEqual(self.client.get_version("/compat/ver", versions[0]).cmd, "echo two")
        result = self.client.rollback_app("/compat/ver", versions[1])
        self.assertIn("deploymentId", result)
        self.wait()
        self.assertEqual(self.client.get_app("/compat/ver").cmd, "echo one")

    def test_delete(self):
        self.client.create_app("/compat/del", MarathonApp(cmd="sleep 1"))
        self.wait()
        result = self.client.delete_app("/compat/del")
        self.assertIn("deploymentId", result)
        self.wait()
        with self.assertRaises(NotFoundError):
            self.client.get_app("/compat/del")
        with self.assertRaises(NotFoundError):
            self.client.delete_app("/compat/del")

    def test_health_checks(self):
        check = MarathonHealthCheck(protocol="MESOS_HTTP", path="/health", port_index=0,
                                    grace_period_seconds=10, interval_seconds=5,
                                    timeout_seconds=2, max_consecutive_failures=3)
        self.client.create_app("/compat/hc", MarathonApp(
            cmd="python3 -m http.server $PORT0", instances=2, health_checks=[check]))
        self.wait()
        app = self.client.get_app("/compat/hc")
        self.assertEqual(app.tasks_healthy, 2)
        self.assertEqual(app.tasks_unhealthy, 0)
        self.assertEqual(app.health_checks[0].path, "/health")
        self.assertEqual(app.health_checks[0].grace_period_seconds, 10)
        self.assertTrue(app.tasks[0].health_check_results[0].alive)

    def test_docker_app_with_unhealthy_image(self):
        self.sandbox.admin("POST", "/marathon/unhealthy-images", {"images": ["img:bad"]})
        container = MarathonContainer.from_json(
            {"type": "DOCKER", "docker": {"image": "img:bad"}})
        check = MarathonHealthCheck(protocol="MESOS_TCP", port_index=0)
        self.client.create_app("/compat/bad", MarathonApp(
            container=container, instances=2, health_checks=[check]))
        time.sleep(1.0)
        app = self.client.get_app("/compat/bad")
        self.assertEqual(len(app.deployments), 1)
        self.assertEqual(app.tasks_healthy, 0)
        self.assertEqual(app.tasks_unhealthy, 2)
        self.assertEqual(app.container.docker.image, "img:bad")
        good = MarathonContainer.from_json({"type": "DOCKER", "docker": {"image": "img:good"}})
        self.client.update_app("/compat/bad", MarathonApp(container=good), force=True)
        self.wait()
        self.assertEqual(self.client.get_app("/compat/bad").tasks_healthy, 2)
        self.sandbox.admin("POST", "/marathon/unhealthy-images", {"images": []})

    def test_restart_and_cancel_deployment(self):
        self.client.create_app("/compat/rs", MarathonApp(cmd="sleep 1"))
        self.wait()
        result = self.client.restart_app("/compat/rs")
        self.assertIn("deploymentId", result)
        self.assertEqual(self.client.delete_deployment(result["deploymentId"], force=True), {})
        self.assertEqual(self.client.list_deployments(), [])
        update = self.client.update_app("/compat/rs", MarathonApp(cmd="sleep 2"))
        rollback = self.client.delete_deployment(update["deploymentId"])
        self.assertIn("deploymentId", rollback)
        self.assertEqual(self.client.get_app("/compat/rs").cmd, "sleep 1")

    def test_errors(self):
        self.client.create_app("/compat/err", MarathonApp(cmd="sleep 1"))
        with self.assertRaises(ConflictError):
            self.client.create_app("/compat/err", MarathonApp(cmd="sleep 1"))
        with self.assertRaises(MarathonHttpError) as ctx:
            self.client.create_app("/compat/neg", MarathonApp(cmd="sleep 1", instances=-1))
        self.assertEqual(ctx.exception.status_code, 422)
        self.assertEqual(ctx.exception.error_message, "Object is not valid")
        with self.assertRaises(NotFoundError):
            self.client.get_app("/compat/missing")

    def test_info_and_ping(self):
        info = self.client.get_info()
        self.assertEqual(info.name, "marathon")
        self.assertTrue(info.elected)
        self.assertEqual(self.client.ping().strip(), b"pong")
        self.assertIn("leader", self.client.get_leader())


class MarathonClientAuthTest(unittest.TestCase):
    def test_basic_auth(self):
        with Sandbox(deploy_ms=0, extra_args=["--marathon-basic-auth", "alice:s3cret"]) as sb:
            anonymous = MarathonClient(sb.marathon_url)
            authed = MarathonClient(sb.marathon_url, username="alice", password="s3cret")
            try:
                with self.assertRaises(MarathonHttpError) as ctx:
                    anonymous.list_apps()
                self.assertEqual(ctx.exception.status_code, 401)
                self.assertEqual(authed.list_apps(), [])
            finally:
                for client in (anonymous, authed):
                    client.session.close()
                    client.sse_session.close()


if __name__ == "__main__":
    unittest.main()
