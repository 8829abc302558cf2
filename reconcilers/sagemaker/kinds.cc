#include "reconcilers/sagemaker/kinds.h"

#include "reconcilers/sagemaker/model.h"

namespace converge::sagemaker {

const std::vector<KindSpec>& Kinds() {
  static const std::vector<KindSpec> kKinds = [] {
    std::vector<KindSpec> k;
    k.push_back({"Model", "CreateModel", "ModelName", "DescribeModel", "ListModels", "Models",
                 "ModelArn", "", "DeleteModel", "", 63, true, false});
    k.push_back({"EndpointConfig", "CreateEndpointConfig", "EndpointConfigName",
                 "DescribeEndpointConfig", "ListEndpointConfigs", "EndpointConfigs",
                 "EndpointConfigArn", "", "DeleteEndpointConfig", "", 63, true, false});
    k.push_back({"Endpoint", "CreateEndpoint", "EndpointName", "DescribeEndpoint", "ListEndpoints",
                 "Endpoints", "EndpointArn", "EndpointStatus", "DeleteEndpoint", "", 63, false,
                 false});
    k.push_back({"TrainingJob", "CreateTrainingJob", "TrainingJobName", "DescribeTrainingJob",
                 "ListTrainingJobs", "TrainingJobSummaries", "TrainingJobArn", "TrainingJobStatus",
                 "", "StopTrainingJob", 63, true, true});
    k.push_back({"ProcessingJob", "CreateProcessingJob", "ProcessingJobName",
                 "DescribeProcessingJob", "ListProcessingJobs", "ProcessingJobSummaries",
                 "ProcessingJobArn", "ProcessingJobStatus", "", "StopProcessingJob", 63, true,
                 true});
    k.push_back({"TransformJob", "CreateTransformJob", "TransformJobName", "DescribeTransformJob",
                 "ListTransformJobs", "TransformJobSummaries", "TransformJobArn",
                 "TransformJobStatus", "", "StopTransformJob", 63, true, true});
    k.push_back({"HyperParameterTuningJob", "CreateHyperParameterTuningJob",
                 "HyperParameterTuningJobName", "DescribeHyperParameterTuningJob",
                 "ListHyperParameterTuningJobs", "HyperParameterTuningJobSummaries",
                 "HyperParameterTuningJobArn", "HyperParameterTuningJobStatus", "",
                 "StopHyperParameterTuningJob", 32, true, true});
    return k;
  }();
  return kKinds;
}

const KindSpec* FindKind(const std::string& kind) {
  for (const auto& k : Kinds())
    if (k.kind == kind) return &k;
  return nullptr;
}

size_t MaxSpecName(const KindSpec& k) {
  size_t n = k.max_name;
  if (k.hashed_name) n -= 9;  // "-" + 8 hex
  if (k.job) n -= 5;          // "-r999"
  return n;
}

namespace {

std::string NameError(const KindSpec& k, const std::string& name) {
  const size_t max = MaxSpecName(k);
  if (name.empty()) return "a name is required";
  if (name.size() > max)
    return "at most " + std::to_string(max) + " characters for a " + k.kind +
           " (SageMaker allows " + std::to_string(k.max_name) + " and converge appends " +
           (k.job ? "-<hash8> and -r<N> for reruns)" : "-<hash8>)");
  // ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ : alphanumerics and hyphens, no leading/trailing hyphen.
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  for (char c : name)
    if (!alnum(c) && c != '-')
      return "letters, digits and hyphens only (SageMaker names match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*)";
  if (!alnum(name.front()) || !alnum(name.back()))
    return "must start and end with a letter or digit";
  return "";
}

void Validate(const KindSpec& k, Document& doc, std::vector<PathDiagnostic>& out) {
  json& spec = doc.spec.Edit();
  if (!spec.is_object()) {
    out.push_back({"/spec", "spec must be a mapping: the " + k.create_op + " request"});
    return;
  }
  // The name comes from metadata.name; a copied Airflow config may still carry it.
  bool placeholder = false;
  if (auto it = spec.find(k.name_member); it != spec.end()) {
    if (!it->is_string() || *it != doc.name)
      out.push_back({"/spec/" + k.name_member, "spec." + k.name_member +
                                                   " must be left out or equal metadata.name (" +
                                                   doc.name + "): converge names the object"});
    spec.erase(it);
  }
  // Validate with a well-formed stand-in name so the shape's required/pattern rules pass.
  spec[k.name_member] = "n";
  placeholder = true;
  ShapeCheckOptions opts;
  opts.coerce_numeric_strings = true;
  ValidateShape(spec, InputShapeOf(k.create_op), "/spec", opts, out);
  if (placeholder) spec.erase(k.name_member);

  if (auto tags = spec.find("Tags"); tags != spec.end() && tags->is_array()) {
    for (size_t i = 0; i < tags->size(); ++i) {
      const json& t = (*tags)[i];
      if (t.is_object() && t.contains("Key") && t["Key"].is_string() &&
          t["Key"].get<std::string>().rfind("converge.io/", 0) == 0)
        out.push_back({"/spec/Tags/" + std::to_string(i) + "/Key",
                       "tags under converge.io/ are set by converge itself"});
    }
  }
}

}  // namespace

std::vector<SpecReference> SpecReferencesOf(const std::string& kind, const json& spec) {
  std::vector<SpecReference> out;
  if (!spec.is_object()) return out;
  auto ref = [&](const std::string& ref_kind, const json& v, const std::string& pointer) {
    if (v.is_string()) out.push_back({ref_kind, v.get<std::string>(), "/spec" + pointer, {}});
  };
  if (kind == "EndpointConfig") {
    const json variants = spec.value("ProductionVariants", json::array());
    for (size_t i = 0; variants.is_array() && i < variants.size(); ++i)
      if (variants[i].is_object())
        ref("Model", variants[i].value("ModelName", json()),
            "/ProductionVariants/" + std::to_string(i) + "/ModelName");
  } else if (kind == "Endpoint") {
    ref("EndpointConfig", spec.value("EndpointConfigName", json()), "/EndpointConfigName");
  } else if (kind == "TransformJob") {
    ref("Model", spec.value("ModelName", json()), "/ModelName");
  }
  return out;
}

void RegisterKinds(KindRegistry& registry) {
  for (const KindSpec& k : Kinds()) {
    KindInfo info;
    info.backend_type = "sagemaker";
    info.validate = [&k](Document& doc, std::vector<PathDiagnostic>& out) { Validate(k, doc, out); };
    info.validate_name = [&k](const std::string& name) { return NameError(k, name); };
    info.references = [](const Document& doc) {
      return doc.spec.Read([&](const json& spec) { return SpecReferencesOf(doc.kind, spec); });
    };
    registry.Register(k.kind, std::move(info));
  }
}

}  // namespace converge::sagemaker
