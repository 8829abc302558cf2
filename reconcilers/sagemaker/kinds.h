// The SageMaker kinds converge manages and how each maps onto the API. A kind's spec is the
// native Create* request (what the Airflow operators take as `config`), minus the name member,
// which comes from metadata.name.
//
//   kind                     create operation                live name
//   Model                    CreateModel                     <name>-<hash8>   (immutable)
//   EndpointConfig           CreateEndpointConfig            <name>-<hash8>   (immutable)
//   Endpoint                 CreateEndpoint / UpdateEndpoint <name>
//   TrainingJob              CreateTrainingJob               <name>-<hash8>[-r<N>]
//   ProcessingJob            CreateProcessingJob             ...
//   TransformJob             CreateTransformJob              ...
//   HyperParameterTuningJob  CreateHyperParameterTuningJob   ... (the API caps it at 32 chars)
//
// hash8 is a content hash of the request converge would send (references resolved, converge's own
// tags excluded), so the same spec always maps to the same object and a changed spec to a new one.
#pragma once

#include <string>
#include <vector>

#include "specs/loader.h"

namespace converge::sagemaker {

struct KindSpec {
  std::string kind;            // "Model"
  std::string create_op;       // "CreateModel"
  std::string name_member;     // "ModelName"
  std::string describe_op;     // "DescribeModel"
  std::string list_op;         // "ListModels"
  std::string list_member;     // "Models"
  std::string arn_member;      // "ModelArn"
  std::string status_member;   // "EndpointStatus", "TrainingJobStatus" ("" for none)
  std::string delete_op;       // "DeleteModel" ("" for jobs)
  std::string stop_op;         // "StopTrainingJob" (jobs)
  size_t max_name = 63;        // the API's limit on the live name
  bool hashed_name = true;     // live name carries the content hash
  bool job = false;
};

// All kinds, in dependency order (Model first).
const std::vector<KindSpec>& Kinds();
const KindSpec* FindKind(const std::string& kind);

// Spec-name limits: the live name adds "-" + 8 hex (+ "-r<N>" for job reruns, up to "-r999").
size_t MaxSpecName(const KindSpec& k);

// The members of a `kind` spec that name other specs, which converge resolves to their live
// names: an EndpointConfig's ProductionVariants[].ModelName (Model), an Endpoint's
// EndpointConfigName (EndpointConfig), a TransformJob's ModelName (Model). Pointers are from the
// document root ("/spec/EndpointConfigName").
std::vector<SpecReference> SpecReferencesOf(const std::string& kind, const json& spec);

// The JSON Schema (draft-07) of a `kind` spec for `converge schema` (schema_export.cc): the
// kind's Create* input shape and every shape it reaches, translated from the same service model
// ValidateShape runs (members, required, types, min/max, enums, patterns), the name member
// optional, converge's own tags refused.
json SpecSchema(const KindSpec& k);

// Registers every kind with backend type "sagemaker": shape validation of the spec against the
// Create* input of the service model (numeric strings converted with a warning), name rules,
// converge-reserved tags refused, and the references above.
void RegisterKinds(KindRegistry& registry);

}  // namespace converge::sagemaker
