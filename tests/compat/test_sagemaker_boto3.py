"""Debian's python3-boto3 (1.26.27, botocore 1.29.27) against `converge sandbox` (SageMaker at
<url>/sagemaker).

boto3 signs every request (SigV4), serializes it from the service model and parses the answer
with it, so these tests check the emulator speaks the real wire protocol. Every raw response
body is also validated against the operation's output shape (botocore_check.validate_response),
and every request body the sandbox logged against the input shape.
"""

import json
import os
import tempfile
import time
import unittest

import boto3
import botocore
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
from botocore.exceptions import ClientError

import botocore_check
from sandbox_util import Sandbox

REGION = "eu-west-1"
ACCESS_KEY = "AKIDCOMPAT"
SECRET_KEY = "compat-secret-key"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
DELAY_MS = 200
SANDBOX_ARGS = ["--sagemaker-delay-ms", str(DELAY_MS), "--sagemaker-access-key", ACCESS_KEY,
                "--sagemaker-secret-key", SECRET_KEY]
FAST_WAIT = {"Delay": 0.1, "MaxAttempts": 100}


def client(sandbox, secret=SECRET_KEY, access_key=ACCESS_KEY, retries=1, region=REGION):
    """A boto3 SageMaker client for the sandbox; `retries` = total attempts per call."""
    return boto3.client(
        "sagemaker", endpoint_url=sandbox.sagemaker_url, region_name=region,
        aws_access_key_id=access_key, aws_secret_access_key=secret,
        config=botocore.config.Config(retries={"total_max_attempts": retries, "mode": "standard"}))


def error(call, *args, **kwargs):
    """(code, message, HTTP status) of the ClientError `call` raises."""
    try:
        call(*args, **kwargs)
    except ClientError as err:
        return (err.response["Error"]["Code"], err.response["Error"]["Message"],
                err.response["ResponseMetadata"]["HTTPStatusCode"])
    raise AssertionError("no error raised")


class SageMakerBoto3Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox(extra_args=SANDBOX_ARGS).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.sandbox.stop()
        assert code == 0, "sandbox exited with %s: %s" % (code, cls.sandbox.stderr())

    def setUp(self):
        self.sandbox.reset()
        self.sandbox.admin("POST", "/sagemaker/failing-images", {"images": []})
        self.sandbox.admin("POST", "/sagemaker/delay-ms", {"ms": DELAY_MS})
        self.response_problems = []
        self.sm = self.checked(client(self.sandbox))

    def tearDown(self):
        self.assertEqual(self.response_problems, [], "responses that break the output shapes")
        log = self.sandbox.admin("GET", "/sagemaker/requests")["requests"]
        self.assertEqual(botocore_check.validate_requests(log), [],
                         "logged requests that break the input shapes")

    def checked(self, sm):
        """Validates every successful raw response body against its output shape."""
        def on_response(response_dict=None, context=None, **kwargs):
            if response_dict is None or response_dict["status_code"] != 200:
                return
            name = kwargs["event_name"].rsplit(".", 1)[-1]
            body = response_dict["body"]
            decoded = json.loads(body) if body else {}
            self.response_problems.extend(botocore_check.validate_response(name, decoded))
        sm.meta.events.register("response-received.sagemaker", on_response)
        return sm

    # ----- helpers ------------------------------------------------------------------------------

    def model(self, name, image="repo/churn:1", **extra):
        return self.sm.create_model(
            ModelName=name, ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": image, "ModelDataUrl": "s3://models/%s.tar.gz" % name},
            **extra)["ModelArn"]

    def config(self, name, variants):
        return self.sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": v, "ModelName": m, "InstanceType": "ml.m5.large",
             "InitialInstanceCount": n, "InitialVariantWeight": w}
            for (v, m, n, w) in variants])["EndpointConfigArn"]

    def serving(self, endpoint="churn", image="repo/churn:1"):
        self.model("blue", image)
        self.model("green")
        self.config("cfg-1", [("blue", "blue", 2, 0.9), ("green", "green", 1, 0.1)])
        arn = self.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName="cfg-1",
                                      Tags=[{"Key": "team", "Value": "ml"}])["EndpointArn"]
        return arn

    def wait_in_service(self, name="churn"):
        self.sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST_WAIT)
        return self.sm.describe_endpoint(EndpointName=name)

    def wait_status(self, describe, key, want, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            got = describe()
            if got[key] == want or time.monotonic() > deadline:
                self.assertEqual(got[key], want)
                return got
            time.sleep(0.05)

    # ----- models and endpoint configs ----------------------------------------------------------

    def test_model_create_describe_list_delete(self):
        arn = self.model("churn-a", Tags=[{"Key": "converge.io/managed-by", "Value": "converge"}])
        self.assertEqual(arn, "arn:aws:sagemaker:eu-west-1:123456789012:model/churn-a")
        d = self.sm.describe_model(ModelName="churn-a")
        self.assertEqual(d["ModelArn"], arn)
        self.assertEqual(d["ExecutionRoleArn"], ROLE)
        self.assertEqual(d["PrimaryContainer"]["Image"], "repo/churn:1")
        self.assertEqual(d["PrimaryContainer"]["Mode"], "SingleModel")
        self.assertEqual(d["CreationTime"].tzinfo is not None, True)
        self.assertRegex(d["ResponseMetadata"]["RequestId"], r"^[0-9a-f-]{36}$")
        self.assertEqual(self.sm.list_tags(ResourceArn=arn)["Tags"],
                         [{"Key": "converge.io/managed-by", "Value": "converge"}])
        models = self.sm.list_models()["Models"]
        self.assertEqual([m["ModelName"] for m in models], ["churn-a"])
        # Models are immutable: the same name again is refused, with the ARN in the message.
        code, message, status = error(self.model, "churn-a")
        self.assertEqual((code, status), ("ValidationException", 400))
        self.assertEqual(message, 'Cannot create already existing model "%s".' % arn)
        self.sm.delete_model(ModelName="churn-a")
        code, message, _ = error(self.sm.describe_model, ModelName="churn-a")
        self.assertEqual(code, "ValidationException")
        self.assertEqual(message, 'Could not find model "%s".' % arn)
        self.assertEqual(error(self.sm.delete_model, ModelName="churn-a")[0], "ValidationException")

    def test_endpoint_config_needs_its_models(self):
        code, message, _ = error(self.config, "cfg", [("a", "missing", 1, 1.0)])
        self.assertEqual(code, "ValidationException")
        self.assertEqual(message, 'Could not find model '
                         '"arn:aws:sagemaker:eu-west-1:123456789012:model/missing".')
        self.model("m")
        arn = self.config("cfg", [("a", "m", 1, 1.0)])
        d = self.sm.describe_endpoint_config(EndpointConfigName="cfg")
        self.assertEqual(d["EndpointConfigArn"], arn)
        self.assertEqual(d["ProductionVariants"][0]["InitialInstanceCount"], 1)
        code, message, _ = error(self.config, "cfg", [("a", "m", 1, 1.0)])
        self.assertEqual(message, 'Cannot create already existing endpoint configuration "%s".'
                         % arn)
        self.assertEqual([c["EndpointConfigName"]
                          for c in self.sm.list_endpoint_configs()["EndpointConfigs"]], ["cfg"])
        self.sm.delete_endpoint_config(EndpointConfigName="cfg")
        self.assertEqual(error(self.sm.describe_endpoint_config, EndpointConfigName="cfg")[1],
                         'Could not find endpoint configuration "%s".' % arn)

    def test_input_validation_like_the_service(self):
        code, message, status = error(self.sm.create_endpoint, EndpointName="bad_name!",
                                      EndpointConfigName="c")
        self.assertEqual((code, status), ("ValidationException", 400))
        self.assertEqual(message, "1 validation error detected: Value 'bad_name!' at "
                         "'endpointName' failed to satisfy constraint: Member must satisfy "
                         "regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
        self.model("m")
        code, message, _ = error(self.sm.create_endpoint_config, EndpointConfigName="c",
                                 ProductionVariants=[{"VariantName": "a", "ModelName": "m",
                                                      "InstanceType": "ml.bogus.large"}])
        self.assertEqual(code, "ValidationException")
        self.assertIn("at 'productionVariants.1.member.instanceType' failed to satisfy "
                      "constraint: Member must satisfy enum value set: [", message)

    # ----- endpoints ----------------------------------------------------------------------------

    def test_endpoint_lifecycle_with_waiters(self):
        arn = self.serving("Churn")
        self.assertEqual(arn, "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn")
        d = self.sm.describe_endpoint(EndpointName="churn")
        self.assertEqual(d["EndpointStatus"], "Creating")
        self.assertEqual(d["EndpointName"], "Churn")
        ep = self.wait_in_service()
        self.assertEqual(ep["EndpointConfigName"], "cfg-1")
        variants = {v["VariantName"]: v for v in ep["ProductionVariants"]}
        self.assertAlmostEqual(variants["blue"]["CurrentWeight"], 0.9)
        self.assertEqual(variants["blue"]["CurrentInstanceCount"], 2)
        self.assertEqual(variants["blue"]["DeployedImages"][0]["SpecifiedImage"], "repo/churn:1")
        self.assertIn("@sha256:", variants["blue"]["DeployedImages"][0]["ResolvedImage"])
        self.assertEqual(self.sm.list_tags(ResourceArn=arn)["Tags"],
                         [{"Key": "team", "Value": "ml"}])
        code, message, _ = error(self.sm.create_endpoint, EndpointName="churn",
                                 EndpointConfigName="cfg-1")
        self.assertEqual(message, 'Cannot create already existing endpoint "%s".' % arn)

        # A new config: Updating (old config still serving), then InService on the new one.
        self.model("blue-2", "repo/churn:2")
        self.config("cfg-2", [("blue", "blue-2", 1, 1.0)])
        self.sm.update_endpoint(EndpointName="churn", EndpointConfigName="cfg-2")
        d = self.sm.describe_endpoint(EndpointName="churn")
        self.assertEqual(d["EndpointStatus"], "Updating")
        self.assertEqual(d["EndpointConfigName"], "cfg-1")
        self.assertEqual(d["PendingDeploymentSummary"]["EndpointConfigName"], "cfg-2")
        code, message, _ = error(self.sm.update_endpoint, EndpointName="churn",
                                 EndpointConfigName="cfg-1")
        self.assertEqual((code, message),
                         ("ValidationException", 'Cannot update in-progress endpoint "%s".' % arn))
        self.assertEqual(error(self.sm.delete_endpoint, EndpointName="churn")[0],
                         "ValidationException")
        ep = self.wait_in_service()
        self.assertEqual(ep["EndpointConfigName"], "cfg-2")
        self.assertEqual([v["VariantName"] for v in ep["ProductionVariants"]], ["blue"])

        # Weights and capacities: desired at once, current after the delay.
        self.sm.update_endpoint_weights_and_capacities(
            EndpointName="churn",
            DesiredWeightsAndCapacities=[{"VariantName": "blue", "DesiredInstanceCount": 3,
                                          "DesiredWeight": 0.5}])
        d = self.sm.describe_endpoint(EndpointName="churn")
        self.assertEqual(d["EndpointStatus"], "Updating")
        v = d["ProductionVariants"][0]
        self.assertEqual((v["DesiredInstanceCount"], v["CurrentInstanceCount"]), (3, 1))
        ep = self.wait_in_service()
        v = ep["ProductionVariants"][0]
        self.assertEqual(v["CurrentInstanceCount"], 3)
        self.assertAlmostEqual(v["CurrentWeight"], 0.5)
        code, message, _ = error(
            self.sm.update_endpoint_weights_and_capacities, EndpointName="churn",
            DesiredWeightsAndCapacities=[{"VariantName": "nope", "DesiredWeight": 1.0}])
        self.assertEqual(code, "ValidationException")
        self.assertIn("nope", message)

        # Delete: Deleting, then gone (the EndpointDeleted waiter succeeds on ValidationException).
        self.sm.delete_endpoint(EndpointName="churn")
        self.assertEqual(self.sm.describe_endpoint(EndpointName="churn")["EndpointStatus"],
                         "Deleting")
        self.sm.get_waiter("endpoint_deleted").wait(EndpointName="churn", WaiterConfig=FAST_WAIT)
        code, message, status = error(self.sm.describe_endpoint, EndpointName="churn")
        self.assertEqual((code, status), ("ValidationException", 400))
        self.assertEqual(message, 'Could not find endpoint "%s".' % arn)
        self.assertEqual(self.sm.list_endpoints()["Endpoints"], [])

    def test_deleting_a_config_or_model_in_use_is_allowed(self):
        self.serving()
        self.wait_in_service()
        self.sm.delete_endpoint_config(EndpointConfigName="cfg-1")
        self.sm.delete_model(ModelName="blue")
        ep = self.sm.describe_endpoint(EndpointName="churn")
        self.assertEqual((ep["EndpointStatus"], ep["EndpointConfigName"]), ("InService", "cfg-1"))

    def test_failing_image_fails_create_and_rolls_back_update(self):
        self.sandbox.admin("POST", "/sagemaker/failing-images", {"images": ["repo/churn:bad"]})
        self.serving("broken", image="repo/churn:bad")
        with self.assertRaises(botocore.exceptions.WaiterError):
            self.sm.get_waiter("endpoint_in_service").wait(EndpointName="broken",
                                                           WaiterConfig=FAST_WAIT)
        d = self.sm.describe_endpoint(EndpointName="broken")
        self.assertEqual(d["EndpointStatus"], "Failed")
        self.assertIn("production variant blue did not pass the ping health check",
                      d["FailureReason"])
        self.assertEqual(error(self.sm.update_endpoint, EndpointName="broken",
                               EndpointConfigName="cfg-1")[0], "ValidationException")
        self.sm.delete_endpoint(EndpointName="broken")  # the one operation a failed endpoint allows

        # A failing update: Updating -> RollingBack -> InService on the OLD config.
        self.config("cfg-ok", [("green", "green", 1, 1.0)])
        self.sm.create_endpoint(EndpointName="churn", EndpointConfigName="cfg-ok")
        self.wait_in_service()
        self.sm.update_endpoint(EndpointName="churn", EndpointConfigName="cfg-1")
        seen = set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            d = self.sm.describe_endpoint(EndpointName="churn")
            seen.add(d["EndpointStatus"])
            if d["EndpointStatus"] == "InService":
                break
            time.sleep(0.03)
        self.assertIn("RollingBack", seen)
        self.assertEqual(d["EndpointConfigName"], "cfg-ok")
        self.assertIn("did not pass the ping health check", d["FailureReason"])

    def test_list_paginators_filters_and_sorting(self):
        for i in range(23):
            self.model("model-%02d" % i)
        paginator = self.sm.get_paginator("list_models")
        pages = list(paginator.paginate(PaginationConfig={"PageSize": 10}))
        self.assertEqual([len(p["Models"]) for p in pages], [10, 10, 3])
        names = [m["ModelName"] for p in pages for m in p["Models"]]
        self.assertEqual(sorted(names), ["model-%02d" % i for i in range(23)])
        # Default: newest first, 10 per page.
        first = self.sm.list_models()
        self.assertEqual(len(first["Models"]), 10)
        self.assertIn("NextToken", first)
        asc = self.sm.list_models(SortBy="Name", SortOrder="Ascending", MaxResults=3)
        self.assertEqual([m["ModelName"] for m in asc["Models"]],
                         ["model-00", "model-01", "model-02"])
        nxt = self.sm.list_models(SortBy="Name", SortOrder="Ascending", MaxResults=3,
                                  NextToken=asc["NextToken"])
        self.assertEqual(nxt["Models"][0]["ModelName"], "model-03")
        self.assertEqual([m["ModelName"] for m in
                          self.sm.list_models(NameContains="MODEL-1", MaxResults=100)["Models"]],
                         ["model-%02d" % i for i in range(19, 9, -1)])
        self.assertEqual(error(self.sm.list_models, NextToken="garbage")[0],
                         "ValidationException")
        self.serving()
        self.assertEqual([e["EndpointName"] for e in
                          self.sm.list_endpoints(StatusEquals="Creating")["Endpoints"]], ["churn"])
        self.assertEqual(self.sm.list_endpoints(StatusEquals="InService")["Endpoints"], [])
        endpoints = [e for p in self.sm.get_paginator("list_endpoints").paginate()
                     for e in p["Endpoints"]]
        self.assertEqual(len(endpoints), 1)

    def test_tags(self):
        arn = self.model("tagged", Tags=[{"Key": "a", "Value": "1"}])
        self.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"},
                                                {"Key": "a", "Value": "3"}])
        tags = self.sm.list_tags(ResourceArn=arn)["Tags"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("a", "3"), ("b", "2")])
        self.sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
        self.assertEqual(self.sm.list_tags(ResourceArn=arn)["Tags"], [{"Key": "b", "Value": "2"}])
        pages = list(self.sm.get_paginator("list_tags").paginate(ResourceArn=arn))
        self.assertEqual(sum(len(p["Tags"]) for p in pages), 1)
        self.assertEqual(error(self.sm.list_tags, ResourceArn=arn.replace("tagged", "other"))[0],
                         "ValidationException")

    def test_search_endpoints_and_models_with_tags(self):
        """Search (what converge's observe uses): records of the model's shapes, tags included,
        boto3's paginator over NextToken, filters on tags."""
        for i in range(12):
            self.model("search-%02d" % i, Tags=[{"Key": "team", "Value": "a" if i % 3 else "b"}])
        paginator = self.sm.get_paginator("search")
        pages = list(paginator.paginate(Resource="Model", SortBy="CreationTime",
                                        SortOrder="Ascending", PaginationConfig={"PageSize": 5}))
        self.assertEqual([len(p["Results"]) for p in pages], [5, 5, 2])
        models = [r["Model"]["Model"] for p in pages for r in p["Results"]]
        self.assertEqual([m["ModelName"] for m in models], ["search-%02d" % i for i in range(12)])
        self.assertEqual(models[0]["Tags"], [{"Key": "team", "Value": "b"}])
        self.assertEqual(models[0]["PrimaryContainer"]["Image"], "repo/churn:1")
        only_b = self.sm.search(Resource="Model", SearchExpression={"Filters": [
            {"Name": "Tags.team", "Operator": "Equals", "Value": "b"}]}, MaxResults=100)
        self.assertEqual(sorted(r["Model"]["Model"]["ModelName"] for r in only_b["Results"]),
                         ["search-00", "search-03", "search-06", "search-09"])
        self.serving()
        ep = self.wait_in_service()
        found = self.sm.search(Resource="Endpoint")["Results"]
        self.assertEqual(len(found), 1)
        record = found[0]["Endpoint"]
        for member in ("EndpointName", "EndpointArn", "EndpointConfigName", "EndpointStatus",
                       "ProductionVariants", "CreationTime", "LastModifiedTime"):
            self.assertEqual(record[member], ep[member], member)
        self.assertEqual(record["Tags"], [{"Key": "team", "Value": "ml"}])
        self.assertEqual(error(self.sm.search, Resource="Model", MaxResults=101)[0],
                         "ValidationException")  # botocore does not check `max`: the service does

    # ----- jobs ---------------------------------------------------------------------------------

    def training(self, name, image="repo/train:1"):
        return self.sm.create_training_job(
            TrainingJobName=name, RoleArn=ROLE,
            AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
            HyperParameters={"max_depth": "6"},
            OutputDataConfig={"S3OutputPath": "s3://models/out/"},
            ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                            "VolumeSizeInGB": 10},
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
            Tags=[{"Key": "converge.io/managed-by", "Value": "converge"}])["TrainingJobArn"]

    def test_training_job_runs_completes_and_stops(self):
        arn = self.training("train-1")
        self.assertEqual(arn, "arn:aws:sagemaker:eu-west-1:123456789012:training-job/train-1")
        d = self.sm.describe_training_job(TrainingJobName="train-1")
        self.assertEqual((d["TrainingJobStatus"], d["SecondaryStatus"]), ("InProgress", "Starting"))
        self.assertEqual(d["HyperParameters"], {"max_depth": "6"})
        code, message, _ = error(self.training, "train-1")
        self.assertEqual(code, "ResourceInUse")
        self.assertIn(arn, message)
        self.sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="train-1", WaiterConfig=FAST_WAIT)
        d = self.sm.describe_training_job(TrainingJobName="train-1")
        self.assertEqual(d["TrainingJobStatus"], "Completed")
        self.assertEqual(d["ModelArtifacts"]["S3ModelArtifacts"],
                         "s3://models/out/train-1/output/model.tar.gz")
        self.assertIn("TrainingEndTime", d)
        self.assertEqual(error(self.sm.stop_training_job, TrainingJobName="train-1")[0],
                         "ValidationException")

        self.training("train-2")
        self.sm.stop_training_job(TrainingJobName="train-2")
        self.assertEqual(self.sm.describe_training_job(TrainingJobName="train-2")
                         ["TrainingJobStatus"], "Stopping")
        self.wait_status(lambda: self.sm.describe_training_job(TrainingJobName="train-2"),
                         "TrainingJobStatus", "Stopped")
        jobs = self.sm.list_training_jobs(SortBy="Name", SortOrder="Ascending")
        self.assertEqual([(j["TrainingJobName"], j["TrainingJobStatus"])
                          for j in jobs["TrainingJobSummaries"]],
                         [("train-1", "Completed"), ("train-2", "Stopped")])
        # An unknown job: what the real service answers (not the modeled ResourceNotFound).
        code, message, _ = error(self.sm.describe_training_job, TrainingJobName="nope")
        self.assertEqual((code, message), ("ValidationException", "Requested resource not found."))

    def test_training_job_with_failing_image_fails(self):
        self.sandbox.admin("POST", "/sagemaker/failing-images", {"images": ["repo/train:bad"]})
        self.training("train-bad", image="repo/train:bad")
        d = self.wait_status(lambda: self.sm.describe_training_job(TrainingJobName="train-bad"),
                             "TrainingJobStatus", "Failed")
        self.assertIn("repo/train:bad", d["FailureReason"])
        self.assertEqual(d["SecondaryStatus"], "Failed")

    def test_processing_job(self):
        def create(name):
            return self.sm.create_processing_job(
                ProcessingJobName=name, RoleArn=ROLE,
                ProcessingResources={"ClusterConfig": {"InstanceCount": 1,
                                                       "InstanceType": "ml.m5.xlarge",
                                                       "VolumeSizeInGB": 30}},
                AppSpecification={"ImageUri": "repo/prep:1",
                                  "ContainerEntrypoint": ["python3", "prep.py"]},
                StoppingCondition={"MaxRuntimeInSeconds": 600})["ProcessingJobArn"]
        create("prep-1")
        self.assertEqual(error(create, "prep-1")[0], "ResourceInUse")
        d = self.sm.describe_processing_job(ProcessingJobName="prep-1")
        self.assertEqual(d["ProcessingJobStatus"], "InProgress")
        self.assertEqual(d["AppSpecification"]["ImageUri"], "repo/prep:1")
        self.sm.get_waiter("processing_job_completed_or_stopped").wait(
            ProcessingJobName="prep-1", WaiterConfig=FAST_WAIT)
        self.assertEqual(self.sm.describe_processing_job(ProcessingJobName="prep-1")
                         ["ProcessingJobStatus"], "Completed")
        create("prep-2")
        self.sm.stop_processing_job(ProcessingJobName="prep-2")
        self.wait_status(lambda: self.sm.describe_processing_job(ProcessingJobName="prep-2"),
                         "ProcessingJobStatus", "Stopped")
        self.assertEqual(len(self.sm.list_processing_jobs()["ProcessingJobSummaries"]), 2)

    def test_transform_and_tuning_jobs(self):
        self.model("scorer", "repo/score:1")
        self.sm.create_transform_job(
            TransformJobName="score-1", ModelName="scorer",
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                            "S3Uri": "s3://data/in/"}}},
            TransformOutput={"S3OutputPath": "s3://data/out/"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
        self.wait_status(lambda: self.sm.describe_transform_job(TransformJobName="score-1"),
                         "TransformJobStatus", "Completed")
        self.assertEqual(len(self.sm.list_transform_jobs()["TransformJobSummaries"]), 1)
        self.sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="tune-1",
            HyperParameterTuningJobConfig={
                "Strategy": "Bayesian",
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
                "HyperParameterTuningJobObjective": {"Type": "Maximize",
                                                     "MetricName": "validation:auc"}},
            TrainingJobDefinition={
                "AlgorithmSpecification": {"TrainingImage": "repo/train:1",
                                           "TrainingInputMode": "File"},
                "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": "s3://models/tune/"},
                "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                                   "VolumeSizeInGB": 10},
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600}})
        d = self.wait_status(
            lambda: self.sm.describe_hyper_parameter_tuning_job(
                HyperParameterTuningJobName="tune-1"),
            "HyperParameterTuningJobStatus", "Completed")
        self.assertEqual(d["TrainingJobStatusCounters"]["Completed"], 4)
        summaries = self.sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
        self.assertEqual(summaries[0]["Strategy"], "Bayesian")

    # ----- auth, faults, validation of what was sent ------------------------------------------

    def test_signature_checks(self):
        code, message, status = error(client(self.sandbox, secret="wrong").list_models)
        self.assertEqual((code, status), ("InvalidSignatureException", 403))
        self.assertIn("does not match the signature you provided", message)
        code, message, status = error(client(self.sandbox, access_key="AKIDOTHER").list_models)
        self.assertEqual((code, status), ("UnrecognizedClientException", 400))
        self.assertEqual(message, "The security token included in the request is invalid.")
        status, headers, body = self.sandbox.request(
            "POST", "/sagemaker/", b"{}", {"Content-Type": "application/x-amz-json-1.1",
                                           "X-Amz-Target": "SageMaker.ListModels"})
        self.assertEqual((status, body["__type"]), (403, "MissingAuthenticationTokenException"))
        # Any region the client signs for is accepted and shows up in the ARNs.
        other = self.checked(client(self.sandbox, region="us-west-2"))
        arn = other.create_model(ModelName="west", ExecutionRoleArn=ROLE,
                                 PrimaryContainer={"Image": "repo/a:1"})["ModelArn"]
        self.assertTrue(arn.startswith("arn:aws:sagemaker:us-west-2:123456789012:model/"))

    def test_unknown_operation_and_bad_json(self):
        signer = botocore.auth.SigV4Auth(
            botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY), "sagemaker", REGION)

        def raw(target, body):
            req = botocore.awsrequest.AWSRequest(
                method="POST", url=self.sandbox.url + "/sagemaker/", data=body,
                headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
            signer.add_auth(req)
            return self.sandbox.request("POST", "/sagemaker/", body, dict(req.headers.items()))

        status, headers, body = raw("SageMaker.ListDomains", b"{}")
        self.assertEqual((status, body["__type"]), (400, "UnknownOperationException"))
        self.assertIn("x-amzn-RequestId", headers)
        status, _, body = raw("SageMaker.ListModels", b"{not json")
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        status, _, body = raw("SageMaker.ListModels", b"[" * 100000)
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        status, _, body = raw("SageMaker.ListModels", json.dumps({"MaxResults": "ten"}).encode())
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        self.sandbox.admin("DELETE", "/sagemaker/requests")  # that body breaks the model on purpose

    def test_throttling_fault_for_one_operation(self):
        rule = self.sandbox.admin("POST", "/faults", {
            "backend": "sagemaker", "target": "SageMaker.CreateModel", "status": 400, "count": 2,
            "body": json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})})
        self.assertEqual(rule["target"], "SageMaker.CreateModel")
        self.assertEqual(self.sm.list_models()["Models"], [])  # other operations pass
        code, message, status = error(self.model, "m")
        self.assertEqual((code, message, status), ("ThrottlingException", "Rate exceeded", 400))
        # botocore's standard retry mode retries throttling errors.
        retrying = self.checked(client(self.sandbox, retries=3))
        resp = retrying.create_model(ModelName="m", ExecutionRoleArn=ROLE,
                                     PrimaryContainer={"Image": "repo/a:1"})
        self.assertEqual(resp["ResponseMetadata"]["RetryAttempts"], 1)
        self.sandbox.admin("DELETE", "/faults")

    def test_request_log_and_botocore_check(self):
        self.model("logged")
        log = self.sandbox.admin("GET", "/sagemaker/requests")["requests"]
        self.assertEqual([e["operation"] for e in log], ["CreateModel"])
        self.assertEqual(log[0]["body"]["ModelName"], "logged")
        self.assertEqual(log[0]["status"], 200)
        self.assertEqual(botocore_check.validate_requests(log), [])
        # What a buggy client might send is caught: a float count, a missing required member,
        # an unknown member.
        bad = [{"operation": "CreateEndpointConfig",
                "body": {"EndpointConfigName": "c", "ProductionVariants": [
                    {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": 1.0}]}},
               ("CreateModel", {"ModelName": "m"}),
               ("ListModels", {"Bogus": 1}),
               ("NoSuchOperation", {})]
        problems = botocore_check.validate_requests(bad)
        self.assertEqual(len(problems), 4, problems)
        self.assertIn("InitialInstanceCount", problems[0])
        self.assertIn("ExecutionRoleArn", problems[1])
        self.assertIn("Bogus", problems[2])
        problems = botocore_check.validate_response("DescribeEndpoint", {"EndpointName": "x"})
        self.assertIn('Missing required parameter in input: "EndpointArn"', problems[0])
        self.sandbox.admin("DELETE", "/sagemaker/requests")
        self.assertEqual(self.sandbox.admin("GET", "/sagemaker/requests")["requests"], [])


class SageMakerStateFileTest(unittest.TestCase):
    def test_state_survives_a_restart(self):
        with tempfile.TemporaryDirectory() as tmp:
            state = os.path.join(tmp, "sandbox.json")
            with Sandbox(state_file=state, extra_args=SANDBOX_ARGS) as sandbox:
                sm = client(sandbox)
                sm.create_model(ModelName="kept", ExecutionRoleArn=ROLE,
                                PrimaryContainer={"Image": "repo/a:1"},
                                Tags=[{"Key": "k", "Value": "v"}])
                sm.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=[
                    {"VariantName": "a", "ModelName": "kept", "InstanceType": "ml.m5.large",
                     "InitialInstanceCount": 1}])
                sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
            with Sandbox(state_file=state, extra_args=SANDBOX_ARGS) as sandbox:
                sm = client(sandbox)
                arn = sm.describe_model(ModelName="kept")["ModelArn"]
                self.assertEqual(sm.list_tags(ResourceArn=arn)["Tags"],
                                 [{"Key": "k", "Value": "v"}])
                sm.get_waiter("endpoint_in_service").wait(EndpointName="ep", WaiterConfig=FAST_WAIT)


if __name__ == "__main__":
    unittest.main()
