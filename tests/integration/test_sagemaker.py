"""converge against the sandbox's SageMaker emulator, end to end with the built binary.

Models + endpoint config + endpoint are created in dependency order; an image change creates a
new model and config and updates the endpoint (old ones retained); an instance-count change is a
scale; a failing rollout is rolled back automatically; `converge rollback Endpoint/NAME` goes back
to the previous config and holds; jobs run once per spec revision; throttling storms are
survived. Every request body converge sent is checked against Debian's botocore service model at
the end of each test (tests/compat/botocore_check.py).
"""

import json
import os
import sys
import time
import unittest

import harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
import botocore_check  # noqa: E402

import boto3  # noqa: E402  (Debian python3-boto3)
import botocore.config  # noqa: E402

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
ACCESS_KEY = "AKIDCONVERGETEST"
SECRET_KEY = "converge-test-secret-key-do-not-print"
DELAY_MS = 300


def backend_yaml(url, **extra):
    spec = {"type": "sagemaker", "region": REGION, "url": url, "auth": {"type": "aws"},
            "pollInterval": "100ms", "healthTimeout": "30s"}
    spec.update(extra)
    return harness.document("Backend", "ml", spec)


def model_yaml(name, image="repo/churn:1", tags=None, annotations=None):
    spec = {"ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": image, "ModelDataUrl": "s3://models/%s.tar.gz" % name}}
    if tags:
        spec["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return harness.document("Model", name, spec, backend="ml", annotations=annotations)


def config_yaml(name, variants):
    return harness.document("EndpointConfig", name, {"ProductionVariants": [
        {"VariantName": v, "ModelName": m, "InstanceType": "ml.m5.large",
         "InitialInstanceCount": n, "InitialVariantWeight": w} for (v, m, n, w) in variants]},
        backend="ml")


def endpoint_yaml(name, config, annotations=None, tags=None):
    spec = {"EndpointConfigName": config}
    if tags:
        spec["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return harness.document("Endpoint", name, spec, backend="ml", annotations=annotations)


def training_yaml(name, image="repo/train:1", depth="6"):
    return harness.document("TrainingJob", name, {
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": {"max_depth": depth},
        "OutputDataConfig": {"S3OutputPath": "s3://models/out/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": "1",
                           "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}, backend="ml")


class SageMakerTest(harness.SandboxTestCase):
    SANDBOX_ARGS = ("--sagemaker-delay-ms", str(DELAY_MS),
                    "--sagemaker-access-key", ACCESS_KEY,
                    "--sagemaker-secret-key", SECRET_KEY)

    def setUp(self):
        super().setUp()
        self.sandbox.admin("DELETE", "/sagemaker/requests")
        self.sandbox.admin("POST", "/sagemaker/failing-images", {"images": []})
        self.sandbox.admin("POST", "/sagemaker/delay-ms", {"ms": DELAY_MS})
        self.sm = boto3.client(
            "sagemaker", endpoint_url=self.sandbox.url + "/sagemaker", region_name=REGION,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=botocore.config.Config(retries={"max_attempts": 2}))

    def tearDown(self):
        # Every request converge (and this test's boto3 client) sent must satisfy the model.
        log = self.sandbox.admin("GET", "/sagemaker/requests")
        entries = log.get("requests", log) if isinstance(log, dict) else log
        problems = botocore_check.validate_requests(entries)
        self.assertEqual(problems, [], "request bodies rejected by botocore's model")
        super().tearDown()

    def ws(self):
        ws = self.workspace(backend=False)
        ws.write("backend.yaml", backend_yaml(self.sandbox.url + "/sagemaker"))
        ws.env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                       "AWS_REGION": REGION})
        return ws

    def write_serving(self, ws, image="repo/churn:1", count=2, weights=(0.9, 0.1),
                      green_image="repo/churn-green:1"):
        ws.write("models.yaml", model_yaml("churn-blue", image) + "---\n" +
                 model_yaml("churn-green", green_image))
        ws.write("endpoint.yaml", config_yaml("churn", [
            ("blue", "churn-blue", count, weights[0]),
            ("green", "churn-green", 1, weights[1])]) + "---\n" + endpoint_yaml("churn", "churn"))

    def apply_ok(self, ws, *extra):
        code, out, err = ws.apply(*extra, timeout=120)
        self.assertEqual(code, 0, "apply failed\nstdout: %s\nstderr: %s" % (out, err))
        return out, err

    def models(self):
        return sorted(m["ModelName"] for m in self.sm.list_models(MaxResults=100)["Models"])

    def configs(self):
        return sorted(c["EndpointConfigName"]
                      for c in self.sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"])

    def endpoint(self, name="churn"):
        return self.sm.describe_endpoint(EndpointName=name)

    def training_jobs(self):
        return sorted(j["TrainingJobName"]
                      for j in self.sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])

    def assert_no_changes(self, ws):
        code, out, err = ws.plan("--detailed-exitcode")
        self.assertEqual(code, 0, "expected no changes\nstdout: %s\nstderr: %s" % (out, err))

    # ----- tests --------------------------------------------------------------------------------

    def test_create_model_config_endpoint_in_dependency_order(self):
        ws = self.ws()
        self.write_serving(ws)
        plan = ws.plan_json()
        order = [(c["kind"], c["name"], c["action"]) for c in plan["changes"]]
        self.assertEqual(order, [("Model", "churn-blue", "create"), ("Model", "churn-green", "create"),
                                 ("EndpointConfig", "churn", "create"),
                                 ("Endpoint", "churn", "create")])
        out, err = self.apply_ok(ws)
        self.assertIn("Endpoint churn", err)
        ep = self.endpoint()
        self.assertEqual(ep["EndpointStatus"], "InService")
        self.assertTrue(ep["EndpointConfigName"].startswith("churn-"))
        weights = {v["VariantName"]: v["CurrentWeight"] for v in ep["ProductionVariants"]}
        self.assertAlmostEqual(weights["blue"], 0.9)
        self.assertEqual(len(self.models()), 2)
        tags = self.sm.list_tags(ResourceArn=ep["EndpointArn"])["Tags"]
        self.assertIn({"Key": "converge.io/managed-by", "Value": "converge"}, tags)
        self.assert_no_changes(ws)
        # The second apply writes nothing.
        self.sandbox.admin("DELETE", "/sagemaker/requests")
        self.apply_ok(ws)
        log = self.sandbox.admin("GET", "/sagemaker/requests")["requests"]
        writes = [e["operation"] for e in log
                  if not e["operation"].startswith(("Describe", "List", "Search"))]
        self.assertEqual(writes, [])

    def test_image_change_creates_new_model_and_config_and_updates_endpoint(self):
        ws = self.ws()
        self.write_serving(ws)
        self.apply_ok(ws)
        old_config = self.endpoint()["EndpointConfigName"]
        old_models = self.models()
        self.write_serving(ws, image="repo/churn:2")
        plan = ws.plan_json()
        actions = {(c["kind"], c["name"]): c["action"] for c in plan["changes"]}
        self.assertEqual(actions, {("Model", "churn-blue"): "replace",
                                   ("EndpointConfig", "churn"): "replace",
                                   ("Endpoint", "churn"): "update"})
        fields = {f["path"] for c in plan["changes"] for f in c["fields"]}
        self.assertIn("PrimaryContainer.Image", fields)
        self.assertIn("ProductionVariants[blue].ModelName", fields)
        self.apply_ok(ws)
        ep = self.endpoint()
        self.assertNotEqual(ep["EndpointConfigName"], old_config)
        self.assertEqual(ep["EndpointStatus"], "InService")
        # Old versions are retained for rollback.
        self.assertIn(old_config, self.configs())
        for m in old_models:
            self.assertIn(m, self.models())
        self.assertEqual(len(self.models()), 3)
        self.assert_no_changes(ws)
        # The snapshot before the update records the full DescribeEndpoint output.
        snaps = ws.snapshots("Endpoint/churn")
        before_update = [s for s in snaps if s["reason"] == "before update"]
        self.assertTrue(before_update)
        self.assertEqual(before_update[0]["doc"]["EndpointConfigName"], old_config)
        self.assertEqual(before_update[0]["doc"]["EndpointStatus"], "InService")

    def test_watch_follows_a_model_change_through_config_and_endpoint(self):
        # Only models.yaml changes, but the config names its models by content hash and the
        # endpoint names the config: the watch re-plans all three, in dependency order.
        import signal
        import test_watch
        ws = self.ws()
        self.write_serving(ws)
        self.apply_ok(ws)
        old_config = self.endpoint()["EndpointConfigName"]
        w = test_watch.Watch(ws)
        self.addCleanup(lambda: w.proc.poll() is None and w.stop(signal.SIGKILL))
        w.wait_ready()
        self.write_serving(ws, image="repo/churn:2")
        test_watch.wait_until(
            lambda: (self.endpoint()["EndpointConfigName"] != old_config and
                     self.endpoint()["EndpointStatus"] == "InService"),
            what="the endpoint to move to a new config: " + w.log()[-3000:])
        test_watch.wait_until(lambda: w.state_of("Endpoint/churn") == "synced",
                              what="Endpoint/churn synced")
        self.assertEqual(len(self.models()), 3)
        self.assertEqual(w.stop(), 0)
        self.assert_no_changes(ws)

    def test_tags_are_changed_in_place(self):
        # Tags are not part of a model's identity: a tag change is AddTags/DeleteTags on the
        # live model and endpoint, not a new model, config and rollout.
        ws = self.ws()
        self.write_serving(ws)
        self.apply_ok(ws)
        models = self.models()
        config = self.endpoint()["EndpointConfigName"]
        ws.write("models.yaml",
                 model_yaml("churn-blue", tags={"team": "ml", "cost-center": "42"}) + "---\n" +
                 model_yaml("churn-green", "repo/churn-green:1"))
        ws.write("endpoint.yaml", config_yaml("churn", [
            ("blue", "churn-blue", 2, 0.9), ("green", "churn-green", 1, 0.1)]) + "---\n" +
            endpoint_yaml("churn", "churn", tags={"team": "ml"}))
        plan = ws.plan_json()
        actions = {(c["kind"], c["name"]): c["action"] for c in plan["changes"]}
        self.assertEqual(actions, {("Model", "churn-blue"): "update", ("Endpoint", "churn"): "update"})
        self.apply_ok(ws)
        self.assertEqual(self.models(), models)
        self.assertEqual(self.endpoint()["EndpointConfigName"], config)

        def user_tags(arn):
            tags = self.sm.list_tags(ResourceArn=arn)["Tags"]
            return {t["Key"]: t["Value"] for t in tags if not t["Key"].startswith("converge.io/")}
        blue = [m for m in self.sm.list_models()["Models"] if m["ModelName"].startswith("churn-blue-")]
        self.assertEqual(user_tags(blue[0]["ModelArn"]), {"team": "ml", "cost-center": "42"})
        self.assertEqual(user_tags(self.endpoint()["EndpointArn"]), {"team": "ml"})
        self.assert_no_changes(ws)
        # Removing a tag deletes it; converge's own tags stay.
        self.write_serving(ws)
        self.apply_ok(ws)
        self.assertEqual(user_tags(blue[0]["ModelArn"]), {})
        self.assertEqual(user_tags(self.endpoint()["EndpointArn"]), {})
        self.assert_no_changes(ws)

    def test_instance_count_change_is_a_scale(self):
        ws = self.ws()
        self.write_serving(ws)
        self.apply_ok(ws)
        config = self.endpoint()["EndpointConfigName"]
        self.write_serving(ws, count=4, weights=(0.5, 0.5))
        plan = ws.plan_json()
        self.assertEqual([(c["kind"], c["action"]) for c in plan["changes"]],
                         [("Endpoint", "scale")])
        self.apply_ok(ws)
        ep = self.endpoint()
        self.assertEqual(ep["EndpointConfigName"], config)
        blue = [v for v in ep["ProductionVariants"] if v["VariantName"] == "blue"][0]
        self.assertEqual(blue["CurrentInstanceCount"], 4)
        self.assertAlmostEqual(blue["CurrentWeight"], 0.5)
        self.assert_no_changes(ws)

    def test_failing_rollout_rolls_back_to_previous_config(self):
        ws = self.ws()
        self.write_serving(ws)
        self.apply_ok(ws)
        good_config = self.endpoint()["EndpointConfigName"]
        self.sandbox.admin("POST", "/sagemaker/failing-images", {"images": ["repo/churn:bad"]})
        self.write_serving(ws, image="repo/churn:bad")
        code, out, err = ws.apply(timeout=120)
        self.assertEqual(code, 1, out + err)
        self.assertIn("rolled-back", out)
        ep = self.endpoint()
        self.assertEqual(ep["EndpointConfigName"], good_config)
        self.assertEqual(ep["EndpointStatus"], "InService")
        # Held: the next plan does not retry the failed rollout.
        plan = ws.plan_json()
        self.assertNotIn("Endpoint", [c["kind"] for c in plan["changes"]])
        held = [s for s in plan["skipped"] if s["kind"] == "Endpoint"]
        self.assertEqual(held[0]["status"], "held")
        # Fixing the image in the Model spec (the endpoint's own spec is untouched) is a new
        # revision of the endpoint too: the hold is over and the fix rolls out.
        self.write_serving(ws, image="repo/churn:3")
        plan = ws.plan_json()
        self.assertIn(("Endpoint", "update"), [(c["kind"], c["action"]) for c in plan["changes"]])
        self.apply_ok(ws)
        ep = self.endpoint()
        self.assertNotEqual(ep["EndpointConfigName"], good_config)
        self.assertEqual(ep["EndpointStatus"], "InService")
        self.assert_no_changes(ws)

    def test_failed_create_is_removed_by_rollback(self):
        ws = self.ws()
        self.sandbox.admin("POST", "/sagemaker/failing-images", {"images": ["repo/churn:bad"]})
        self.write_serving(ws, image="repo/churn:bad")
        code, out, err = ws.apply(timeout=120)
        self.assertEqual(code, 1, out + err)
        with self.assertRaises(self.sm.exceptions.ClientError):
            self.endpoint()

    def test_a_failed_endpoint_is_recreated_when_the_spec_is_fixed(self):
        # autoRollback off: the failed endpoint stays. SageMaker then accepts only DeleteEndpoint,
        # so fixing the spec plans a replace (delete, wait, create), not an UpdateEndpoint.
        ws = self.ws()
        self.sandbox.admin("POST", "/sagemaker/failing-images", {"images": ["repo/churn:bad"]})
        ws.write("models.yaml", model_yaml("churn-blue", "repo/churn:bad"))
        ws.write("endpoint.yaml", config_yaml("churn", [("blue", "churn-blue", 1, 1.0)]) + "---\n" +
                 endpoint_yaml("churn", "churn", annotations={"converge/autoRollback": "false"}))
        code, out, err = ws.apply(timeout=120)
        self.assertEqual(code, 1, out + err)
        self.assertEqual(self.endpoint()["EndpointStatus"], "Failed")
        ws.write("models.yaml", model_yaml("churn-blue", "repo/churn:2"))
        plan = ws.plan_json()
        actions = {(c["kind"], c["name"]): c["action"] for c in plan["changes"]}
        self.assertEqual(actions[("Endpoint", "churn")], "replace", plan)
        self.apply_ok(ws)
        ep = self.endpoint()
        self.assertEqual(ep["EndpointStatus"], "InService")
        self.assert_no_changes(ws)

    def test_rollback_cli_restores_previous_config_and_holds(self):
        ws = self.ws()
        self.write_serving(ws)
        self.apply_ok(ws)
        first = self.endpoint()["EndpointConfigName"]
        self.write_serving(ws, image="repo/churn:2")
        self.apply_ok(ws)
        self.assertNotEqual(self.endpoint()["EndpointConfigName"], first)
        code, out, err = ws.converge("rollback", "Endpoint/churn", timeout=120)
        self.assertEqual(code, 0, out + err)
        self.assertEqual(self.endpoint()["EndpointConfigName"], first)
        plan = ws.plan_json()
        self.assertNotIn("Endpoint", [c["kind"] for c in plan["changes"]])
        self.assertIn("Endpoint", [s["kind"] for s in plan["skipped"] if s["status"] == "held"])
        code, out, err = ws.converge("release", "Endpoint/churn")
        self.assertEqual(code, 0, out + err)
        self.apply_ok(ws)
        self.assertNotEqual(self.endpoint()["EndpointConfigName"], first)

    def test_jobs_run_once_per_revision(self):
        ws = self.ws()
        ws.write("train.yaml", training_yaml("churn-train"))
        out, err = self.apply_ok(ws)
        jobs = self.training_jobs()
        self.assertEqual(len(jobs), 1)
        self.assertTrue(jobs[0].startswith("churn-train-"))
        self.assertEqual(self.sm.describe_training_job(TrainingJobName=jobs[0])["TrainingJobStatus"],
                         "Completed")
        # Numeric strings were converted (with a warning) before sending.
        self.assertEqual(self.sm.describe_training_job(
            TrainingJobName=jobs[0])["ResourceConfig"]["InstanceCount"], 1)
        self.apply_ok(ws)
        self.assertEqual(len(self.training_jobs()), 1)
        self.assert_no_changes(ws)
        ws.write("train.yaml", training_yaml("churn-train", depth="8"))
        plan = ws.plan_json()
        self.assertEqual([c["action"] for c in plan["changes"]], ["run"])
        self.apply_ok(ws)
        self.assertEqual(len(self.training_jobs()), 2)

    def test_failed_job_is_reported_not_restarted_and_rerun_on_request(self):
        ws = self.ws()
        self.sandbox.admin("POST", "/sagemaker/failing-images", {"images": ["repo/train:bad"]})
        ws.write("train.yaml", training_yaml("churn-train", image="repo/train:bad"))
        code, out, err = ws.apply(timeout=120)
        self.assertEqual(code, 1, out + err)
        self.assertEqual(len(self.training_jobs()), 1)
        job = self.sm.describe_training_job(TrainingJobName=self.training_jobs()[0])
        self.assertEqual(job["TrainingJobStatus"], "Failed")
        self.assertIn(job["FailureReason"], out + err)
        # Not restarted: the plan has no change, only a notice with the reason.
        plan = ws.plan_json()
        self.assertEqual(plan["changes"], [])
        notices = [s for s in plan["skipped"] if s["status"] == "run-failed"]
        self.assertEqual(len(notices), 1)
        self.assertIn(job["FailureReason"], notices[0]["reason"])
        ws.apply(timeout=120)
        self.assertEqual(len(self.training_jobs()), 1)
        # `converge rerun` starts <name>-<hash>-r1.
        self.sandbox.admin("POST", "/sagemaker/failing-images", {"images": []})
        code, out, err = ws.converge("rerun", "TrainingJob/churn-train", ws.spec_dir, timeout=120)
        self.assertEqual(code, 0, out + err)
        jobs = self.training_jobs()
        self.assertEqual(len(jobs), 2)
        self.assertTrue(any(j.endswith("-r1") for j in jobs), jobs)

    def test_watch_follows_a_long_run_without_holding_a_worker(self):
        # One worker: if the run's wait held it, the model below would wait for the run too.
        from test_watch import Watch, wait_until
        ws = self.ws()
        self.sandbox.admin("POST", "/sagemaker/delay-ms", {"ms": 8000})
        ws.write("train.yaml", training_yaml("churn-train"))
        w = Watch(ws, "--workers", "1", "--resync", "0")
        try:
            key = "TrainingJob/churn-train"
            wait_until(lambda: (w.resource(key) or {}).get("state") == "progressing",
                       what="the run to be followed")
            self.assertEqual(len(self.training_jobs()), 1)
            ws.write("models.yaml", model_yaml("churn-blue"))
            wait_until(lambda: w.state_of("Model/churn-blue") == "synced",
                       what="the model, while the run goes on")
            job = self.sm.describe_training_job(TrainingJobName=self.training_jobs()[0])
            self.assertEqual(job["TrainingJobStatus"], "InProgress")
            wait_until(lambda: w.state_of(key) == "synced", what="the run to end")
            self.assertEqual(len(self.training_jobs()), 1)  # followed, never started twice
        finally:
            w.stop()

    def test_throttling_storm_is_survived(self):
        ws = self.ws()
        self.write_serving(ws)
        self.sandbox.add_fault(backend="sagemaker", status=400, rate=0.4,
                               body=json.dumps({"__type": "ThrottlingException",
                                                "message": "Rate exceeded"}))
        try:
            self.apply_ok(ws)
        finally:
            fired = sum(f.get("fired", 0) for f in self.sandbox.faults())
            self.sandbox.clear_faults()
        self.assertGreater(fired, 0)
        self.assertEqual(self.endpoint()["EndpointStatus"], "InService")
        self.assert_no_changes(ws)

    def test_prune_deletes_endpoint_then_config_then_models(self):
        ws = self.ws()
        self.write_serving(ws)
        self.apply_ok(ws)
        ws.remove("endpoint.yaml")
        ws.remove("models.yaml")
        plan = ws.plan_json("--prune")
        order = [(c["kind"], c["action"]) for c in plan["changes"]]
        self.assertEqual(order, [("Endpoint", "delete"), ("EndpointConfig", "delete"),
                                 ("Model", "delete"), ("Model", "delete")])
        self.apply_ok(ws, "--prune")
        self.assertEqual(self.models(), [])
        self.assertEqual(self.configs(), [])

    def test_a_model_annotated_prune_false_is_never_pruned(self):
        # The annotation is added after the model exists: converge tags the model in place
        # (converge.io/prune=false), so the protection outlives the spec file.
        ws = self.ws()
        ws.write("models.yaml", model_yaml("keep") + "---\n" + model_yaml("drop"))
        self.apply_ok(ws)
        keep_spec = model_yaml("keep", annotations={"converge/prune": "false"})
        ws.write("models.yaml", keep_spec + "---\n" + model_yaml("drop"))
        plan = ws.plan_json()
        self.assertEqual([(c["kind"], c["name"], c["action"]) for c in plan["changes"]],
                         [("Model", "keep", "update")])
        self.apply_ok(ws)
        [keep] = [m for m in self.models() if m.startswith("keep-")]
        arn = self.sm.describe_model(ModelName=keep)["ModelArn"]
        self.assertIn({"Key": "converge.io/prune", "Value": "false"},
                      self.sm.list_tags(ResourceArn=arn)["Tags"])
        self.assert_no_changes(ws)

        ws.remove("models.yaml")
        ws.write("other.yaml", model_yaml("other"))
        plan = ws.plan_json("--prune")
        self.assertEqual([(c["name"], c["action"]) for c in plan["changes"]
                          if c["action"] == "delete"], [("drop", "delete")])
        skipped = {s["name"]: s for s in plan["skipped"]}
        self.assertEqual(skipped["keep"]["status"], "protected")
        code, out, err = ws.apply("--prune", timeout=120)
        self.assertEqual(code, 0, "apply --prune failed\nstdout: %s\nstderr: %s" % (out, err))
        self.assertIn("protected", out)
        self.assertIn(keep, self.models())
        self.assertFalse([m for m in self.models() if m.startswith("drop-")])

    def test_secrets_are_never_printed_or_stored(self):
        ws = self.ws()
        self.write_serving(ws)
        out, err = self.apply_ok(ws)
        code, pout, perr = ws.plan("-o", "json")
        blob = out + err + pout + perr
        for root, _, files in os.walk(ws.state_dir):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    blob += fh.read().decode(errors="replace")
        self.assertNotIn(SECRET_KEY, blob)

    def test_bad_spec_reports_file_line_column_and_changes_nothing(self):
        ws = self.ws()
        self.write_serving(ws)
        ws.write("bad.yaml", harness.document("EndpointConfig", "broken", {
            "ProductionVariants": [{"VariantName": "a", "ModelName": "churn-blue",
                                    "InitialInstanceCount": "two"}]}, backend="ml"))
        code, out, err = ws.apply()
        self.assertEqual(code, 1)
        self.assertRegex(err, r"bad\.yaml:\d+:\d+: error: .*InitialInstanceCount.*expected an integer")
        self.assertEqual(self.models(), [])

    def test_a_dangling_reference_is_a_plan_error_and_changes_nothing(self):
        # "churn-blu" is neither a Model spec nor a model in SageMaker: the plan names the spec's
        # file:line:column (with a suggestion) and apply sends no write at all.
        ws = self.ws()
        ws.write("models.yaml", model_yaml("churn-blue"))
        ws.write("endpoint.yaml", config_yaml("churn", [("blue", "churn-blu", 1, 1.0)]) + "---\n" +
                 endpoint_yaml("churn", "churn"))
        self.sandbox.admin("DELETE", "/sagemaker/requests")
        code, out, err = ws.apply()
        self.assertEqual(code, 1, out + err)
        self.assertRegex(err, r"endpoint\.yaml:\d+:\d+: EndpointConfig/churn: Model churn-blu is "
                              r"neither a Model spec .* did you mean the Model spec \"churn-blue\"")
        self.assertIn("nothing was applied", err)
        log = self.sandbox.admin("GET", "/sagemaker/requests")["requests"]
        writes = [r["operation"] for r in log
                  if not r["operation"].startswith(("List", "Describe", "Search"))]
        self.assertEqual(writes, [])
        self.assertEqual(self.models(), [])
        # A model that exists in SageMaker (not managed by converge) may be referenced.
        self.sm.create_model(ModelName="churn-blu", ExecutionRoleArn=ROLE,
                             PrimaryContainer={"Image": "repo/legacy:1"})
        self.apply_ok(ws)
        self.assertEqual(self.endpoint()["EndpointStatus"], "InService")


if __name__ == "__main__":
    unittest.main()
