// The document model: one desired-state document (a YAML document with the converge envelope)
// with the source positions needed to report errors as file:line:column.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace converge {

using json = nlohmann::json;

struct SourcePos {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
  std::string ToString() const;  // file:line:column
};

// A member of a spec that names another spec by kind and metadata.name (an Endpoint's
// EndpointConfigName). Found by the kind's `KindInfo::references`; the loader adds the position.
struct SpecReference {
  std::string kind;     // the kind named: "EndpointConfig"
  std::string name;     // its metadata.name
  std::string pointer;  // JSON pointer from the document root: "/spec/EndpointConfigName"
  SourcePos pos;        // where that member's value is (filled in by the loader)
};

struct Document {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string backend;  // metadata.backend, resolved by the loader when left out
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  json spec;            // the backend's native document
  SourcePos pos;        // start of the document
  SourcePos name_pos;     // metadata.name's value (line 0 when unknown)
  SourcePos backend_pos;  // metadata.backend's value, when set
  int index = 0;        // 0-based document number within its file
  std::string revision; // content hash of (kind, name, backend, spec, labels, annotations)
  std::vector<SpecReference> references;  // the other specs this one names, in member order

  std::string Key() const { return kind + "/" + name; }
  // "App /payments/api (document 2)" — names the document in error messages.
  std::string Describe() const;
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourcePos pos;
  std::string document;  // Document::Describe() or "document N"
  std::string message;   // what is wrong and what was expected
  // What sort of finding, for machines (`validate -o json`): "" for a spec error or warning with
  // no finer name, "numeric-string", "unresolved-reference", ...
  std::string kind;
  std::string ToString() const;  // file:line:column: error: <document>: <message>
};

// An error found inside a spec, located by a JSON pointer path relative to the document root
// ("/spec/container/docker/image"). The loader maps the path to a source position.
struct PathDiagnostic {
  std::string path;
  std::string message;
  Severity severity = Severity::kError;
  std::string kind;  // Diagnostic::kind
};

}  // namespace converge
