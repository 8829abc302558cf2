// SageMaker emulator: training, processing, transform and tuning jobs.
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <utility>

#include "reconcilers/common/aws_sigv4.h"
#include "reconcilers/common/base64.h"
#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/sagemaker/emulator_internal.h"
#include "reconcilers/sagemaker/model.h"

namespace converge::sagemaker {

std::optional<Reply> Emulator::Impl::JobImages(JobKind kind, const json& in, Ctx& c,
                                               std::vector<std::string>* images) {
  auto training_image = [&](const json& definition) {
    const json& spec = definition.value("AlgorithmSpecification", json::object());
    if (spec.contains("TrainingImage") && spec["TrainingImage"].is_string()) {
      images->push_back(spec["TrainingImage"]);
    }
  };
  switch (kind) {
    case JobKind::kTraining:
      training_image(in);
      break;
    case JobKind::kProcessing:
      images->push_back(in["AppSpecification"]["ImageUri"]);
      break;
    case JobKind::kTransform: {
      const std::string model = in["ModelName"];
      auto m = models.find(model);
      if (m == models.end()) {
        return Validation("Could not find model " + Quoted(Arn(c, "model", model)) + ".");
      }
      *images = ModelImages(m->second.body);
      break;
    }
    case JobKind::kTuning:
      if (in.contains("TrainingJobDefinition")) training_image(in["TrainingJobDefinition"]);
      for (const json& d : in.value("TrainingJobDefinitions", json::array())) training_image(d);
      break;
  }
  return std::nullopt;
}

std::string Emulator::Impl::FailureFor(JobKind kind, const std::string& image, int total) {
  switch (kind) {
    case JobKind::kTraining:
      return "AlgorithmError: the training container (image " + image +
             ") exited with a non-zero status";
    case JobKind::kProcessing:
      return "AlgorithmError: the processing container (image " + image +
             ") exited with a non-zero status";
    case JobKind::kTransform:
      return "ClientError: the model container (image " + image +
             ") did not pass the ping health check";
    case JobKind::kTuning:
      return "No training job succeeded after " + std::to_string(total) +
             " attempts. For additional details, please take a look at the training job "
             "failures by listing training jobs for the hyperparameter tuning job (image " +
             image + ").";
  }
  return "";
}

Reply Emulator::Impl::CreateJob(JobKind kind, const json& in, Ctx& c) {
  const JobInfo& info = kJobInfo[int(kind)];
  const std::string name = in[info.name_member];
  const std::string arn = Arn(c, info.arn_type, name);
  auto& by_name = jobs[int(kind)];
  if (by_name.count(name)) {
    return Modeled("ResourceInUse", Capitalized(info.label) +
                                        " names must be unique within an AWS account and "
                                        "region, and a " +
                                        info.label + " with this name already exists (" + arn +
                                        ")");
  }
  std::vector<std::string> images;
  if (auto err = JobImages(kind, in, c, &images)) return *err;
  Job j;
  j.kind = int(kind);
  j.name = name;
  j.arn = arn;
  j.body = in;
  j.body.erase("Tags");
  MergeTags(j.tags, in.value("Tags", json::array()));
  j.created = j.modified = c.wall;
  if (info.start_member[0] != '\0') j.start = c.wall;
  if (kind == JobKind::kTuning) {
    const json& limits = in["HyperParameterTuningJobConfig"]["ResourceLimits"];
    j.total_jobs = std::max(1, limits.value("MaxNumberOfTrainingJobs", 1));
  }
  for (const std::string& image : images) {
    if (j.planned_failure.empty() && failing_images.count(image)) {
      j.planned_failure = FailureFor(kind, image, j.total_jobs);
    }
  }
  AddTransition(j, "Starting", c.wall, "Preparing the instances for training");
  j.active = true;
  j.due = Due(c);
  j.due_wall = DueWall(c);
  by_name.emplace(name, std::move(j));
  c.mutated = true;
  return Ok({{info.arn_member, arn}});
}

Job* Emulator::Impl::FindJob(JobKind kind, const json& in) {
  auto& by_name = jobs[int(kind)];
  auto it = by_name.find(in[kJobInfo[int(kind)].name_member].get<std::string>());
  return it == by_name.end() ? nullptr : &it->second;
}

Reply Emulator::Impl::NoJob() {
  return Validation("Requested resource not found.");
}

json Emulator::Impl::TuningCounters(const Job& j) {
  int n = j.total_jobs;
  json training = {{"Completed", 0},
                   {"InProgress", 0},
                   {"RetryableError", 0},
                   {"NonRetryableError", 0},
                   {"Stopped", 0}};
  json objective = {{"Succeeded", 0}, {"Pending", 0}, {"Failed", 0}};
  if (j.status == "InProgress" || j.status == "Stopping") {
    training["InProgress"] = n;
    objective["Pending"] = n;
  } else if (j.status == "Completed") {
    training["Completed"] = n;
    objective["Succeeded"] = n;
  } else if (j.status == "Failed") {
    training["NonRetryableError"] = n;
    objective["Failed"] = n;
  } else if (j.status == "Stopped") {
    training["Stopped"] = n;
    objective["Failed"] = n;
  }
  return {{"TrainingJobStatusCounters", training}, {"ObjectiveStatusCounters", objective}};
}

Reply Emulator::Impl::DescribeJob(JobKind kind, const json& in, Ctx&) {
  Job* j = FindJob(kind, in);
  if (j == nullptr) return NoJob();
  const JobInfo& info = Info(*j);
  json out = FilterToShape(j->body, OutputShapeOf(std::string("Describe") + info.noun));
  out[info.name_member] = j->name;
  out[info.arn_member] = j->arn;
  out[info.status_member] = j->status;
  out["CreationTime"] = j->created;
  out["LastModifiedTime"] = j->modified;
  if (info.start_member[0] != '\0' && j->start > 0) out[info.start_member] = j->start;
  if (j->end > 0) out[info.end_member] = j->end;
  if (!j->failure_reason.empty()) out["FailureReason"] = j->failure_reason;
  switch (JobKind(j->kind)) {
    case JobKind::kTraining: {
      std::string path = j->body["OutputDataConfig"].value("S3OutputPath", "");
      while (!path.empty() && path.back() == '/') path.pop_back();
      out["ModelArtifacts"] = {{"S3ModelArtifacts", path + "/" + j->name + "/output/model.tar.gz"}};
      out["SecondaryStatus"] = j->secondary;
      out["SecondaryStatusTransitions"] = j->transitions;
      for (const char* flag : {"EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
                               "EnableManagedSpotTraining"}) {
        if (!out.contains(flag)) out[flag] = false;
      }
      if (j->end > 0) {
        int seconds = std::max(1, int(std::lround(j->end - j->start)));
        out["TrainingTimeInSeconds"] = seconds;
        out["BillableTimeInSeconds"] = seconds;
      }
      break;
    }
    case JobKind::kProcessing:
      if (j->status == "Failed") out["ExitMessage"] = j->failure_reason;
      break;
    case JobKind::kTransform:
      break;
    case JobKind::kTuning:
      out.update(TuningCounters(*j));
      break;
  }
  // Only what the output shape declares (DescribeTransformJob has no LastModifiedTime).
  return Ok(FilterToShape(out, OutputShapeOf(std::string("Describe") + info.noun)));
}

Reply Emulator::Impl::StopJob(JobKind kind, const json& in, Ctx& c) {
  Job* j = FindJob(kind, in);
  if (j == nullptr) return NoJob();
  if (j->status == "Stopping") return Ok();
  if (j->status != "InProgress") {
    return Validation("The request was rejected because the " + std::string(Info(*j).label) +
                      " is in status " + j->status + ".");
  }
  j->status = "Stopping";
  j->modified = c.wall;
  AddTransition(*j, "Stopping", c.wall, "Stopping the training job");
  j->active = true;
  j->due = Due(c);
  j->due_wall = DueWall(c);
  c.mutated = true;
  return Ok();
}

Reply Emulator::Impl::ListJobs(JobKind kind, const json& in, Ctx&) {
  const JobInfo& info = kJobInfo[int(kind)];
  std::vector<ListItem> items;
  for (const auto& [name, j] : jobs[int(kind)]) {
    json s = {{info.name_member, name},
              {info.arn_member, j.arn},
              {"CreationTime", j.created},
              {"LastModifiedTime", j.modified},
              {info.status_member, j.status}};
    if (j.end > 0) s[info.end_member] = j.end;
    if (!j.failure_reason.empty() && kind != JobKind::kTraining) {
      s["FailureReason"] = j.failure_reason;
    }
    if (kind == JobKind::kTuning) {
      const json& config = j.body["HyperParameterTuningJobConfig"];
      s["Strategy"] = config["Strategy"];
      if (config.contains("ResourceLimits")) s["ResourceLimits"] = config["ResourceLimits"];
      s.update(TuningCounters(j));
    }
    items.push_back({name, j.created, j.modified, j.status, FilterToShape(s, info.summary_shape)});
  }
  return ListPage(in, std::move(items), info.summaries_member);
}

Reply Emulator::Impl::CreateTrainingJob(const json& in, Ctx& c) {
  return CreateJob(JobKind::kTraining, in, c);
}

Reply Emulator::Impl::DescribeTrainingJob(const json& in, Ctx& c) {
  return DescribeJob(JobKind::kTraining, in, c);
}

Reply Emulator::Impl::StopTrainingJob(const json& in, Ctx& c) {
  return StopJob(JobKind::kTraining, in, c);
}

Reply Emulator::Impl::ListTrainingJobs(const json& in, Ctx& c) {
  return ListJobs(JobKind::kTraining, in, c);
}

Reply Emulator::Impl::CreateProcessingJob(const json& in, Ctx& c) {
  return CreateJob(JobKind::kProcessing, in, c);
}

Reply Emulator::Impl::DescribeProcessingJob(const json& in, Ctx& c) {
  return DescribeJob(JobKind::kProcessing, in, c);
}

Reply Emulator::Impl::StopProcessingJob(const json& in, Ctx& c) {
  return StopJob(JobKind::kProcessing, in, c);
}

Reply Emulator::Impl::ListProcessingJobs(const json& in, Ctx& c) {
  return ListJobs(JobKind::kProcessing, in, c);
}

Reply Emulator::Impl::CreateTransformJob(const json& in, Ctx& c) {
  return CreateJob(JobKind::kTransform, in, c);
}

Reply Emulator::Impl::DescribeTransformJob(const json& in, Ctx& c) {
  return DescribeJob(JobKind::kTransform, in, c);
}

Reply Emulator::Impl::StopTransformJob(const json& in, Ctx& c) {
  return StopJob(JobKind::kTransform, in, c);
}

Reply Emulator::Impl::ListTransformJobs(const json& in, Ctx& c) {
  return ListJobs(JobKind::kTransform, in, c);
}

Reply Emulator::Impl::CreateTuningJob(const json& in, Ctx& c) {
  return CreateJob(JobKind::kTuning, in, c);
}

Reply Emulator::Impl::DescribeTuningJob(const json& in, Ctx& c) {
  return DescribeJob(JobKind::kTuning, in, c);
}

Reply Emulator::Impl::StopTuningJob(const json& in, Ctx& c) {
  return StopJob(JobKind::kTuning, in, c);
}

Reply Emulator::Impl::ListTuningJobs(const json& in, Ctx& c) {
  return ListJobs(JobKind::kTuning, in, c);
}

}  // namespace converge::sagemaker
