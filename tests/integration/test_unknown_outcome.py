"""Writes whose reply is lost: converge reads the object back and decides from live state.

The sandbox's fault member "after": true carries a request out and then drops the connection
without the reply, the way a proxy timeout or a reset after the server acted looks to a client.
SageMaker's Create* calls are not idempotent, so the HTTP client cannot simply repeat them: the
executor's unknown-outcome step reads the object back and goes on when the write landed, or
sends it once more when it did not. One `converge apply` must converge, with no object created
twice, even in a storm of such faults.
"""

import json
import unittest

import harness

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
ACCESS_KEY = "AKIDCONVERGETEST"
SECRET_KEY = "converge-test-secret-key-do-not-print"


def sagemaker_specs(url):
    backend = harness.document("Backend", "ml", {
        "type": "sagemaker", "region": REGION, "url": url, "auth": {"type": "aws"},
        "pollInterval": "100ms", "healthTimeout": "30s"})
    model = harness.document("Model", "churn", {
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": "repo/churn:1", "ModelDataUrl": "s3://m/churn.tar.gz"}},
        backend="ml")
    config = harness.document("EndpointConfig", "churn", {"ProductionVariants": [
        {"VariantName": "blue", "ModelName": "churn", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}]}, backend="ml")
    endpoint = harness.document("Endpoint", "churn", {"EndpointConfigName": "churn"},
                                backend="ml")
    return backend + "---\n" + model + "---\n" + config + "---\n" + endpoint


class LostReplyTest(harness.SandboxTestCase):
    SANDBOX_ARGS = ("--sagemaker-delay-ms", "200",
                    "--sagemaker-access-key", ACCESS_KEY,
                    "--sagemaker-secret-key", SECRET_KEY)

    def setUp(self):
        super().setUp()
        self.sandbox.admin("DELETE", "/sagemaker/requests")

    def ws(self):
        ws = self.workspace(backend=False)
        ws.write("ml.yaml", sagemaker_specs(self.sandbox.url + "/sagemaker"))
        ws.env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                       "AWS_REGION": REGION})
        return ws

    def operations(self, name):
        log = self.sandbox.admin("GET", "/sagemaker/requests")["requests"]
        return [r for r in log if r["operation"] == name]

    def test_a_create_whose_reply_is_lost_is_read_back_and_not_repeated(self):
        ws = self.ws()
        self.sandbox.add_fault(backend="sagemaker", target="SageMaker.CreateModel", after=True,
                               count=1)
        code, out, err = ws.apply(timeout=120)
        self.assertEqual(code, 0, "apply failed\nstdout: %s\nstderr: %s" % (out, err))
        self.assertIn("no answer to the create call; reading it back", err)
        self.assertIn("had landed", err)
        # The model was created exactly once: the lost reply did not make a second CreateModel.
        self.assertEqual(len(self.operations("CreateModel")), 1)
        fault = self.sandbox.faults()[0]
        self.assertTrue(fault["after"])
        self.assertEqual(fault["fired"], 1)
        code, out, _ = ws.plan("--detailed-exitcode")
        self.assertEqual(code, 0, out)

    def test_one_apply_converges_in_a_storm_of_lost_replies(self):
        ws = self.ws()
        # 30 % of every SageMaker call (reads and writes) is carried out and its reply dropped.
        self.sandbox.add_fault(backend="sagemaker", after=True, rate=0.3)
        code, out, err = ws.apply(timeout=300)
        self.assertEqual(code, 0, "apply failed\nstdout: %s\nstderr: %s" % (out, err))
        self.assertGreater(self.sandbox.faults()[0]["fired"], 0)
        self.sandbox.clear_faults()
        for op in ("CreateModel", "CreateEndpointConfig", "CreateEndpoint"):
            self.assertEqual(len(self.operations(op)), 1, op + " sent more than once")
        code, out, _ = ws.plan("--detailed-exitcode")
        self.assertEqual(code, 0, out)


if __name__ == "__main__":
    unittest.main()
