#include "specs/loader.h"

#include "specs/positions.h"
#include "specs/yaml_strict.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace converge {

std::string SourcePos::ToString() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  return s;
}

std::string Document::Describe() const {
  std::string d = kind.empty() ? "document" : kind;
  if (!name.empty()) d += " " + name;
  return d + " (document " + std::to_string(index + 1) + ")";
}

std::string Diagnostic::ToString() const {
  std::string s = pos.ToString() + ": " + (severity == Severity::kError ? "error" : "warning");
  if (!document.empty()) s += ": " + document;
  return s + ": " + message;
}

std::set<std::string> KindRegistry::BackendTypes() const {
  std::set<std::string> out;
  for (const auto& [_, info] : kinds_)
    if (!info.backend_type.empty()) out.insert(info.backend_type);
  return out;
}

bool LoadResult::HasErrors() const { return ErrorCount() > 0; }

size_t LoadResult::ErrorCount() const {
  return std::count_if(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

std::string ContentHash(const std::string& data) {
  // Two independent FNV-1a 64 streams (different offsets) → 128 bits of change detection.
  uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
  for (unsigned char c : data) {
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ c) * 0x100000001b3ull;
    b ^= b >> 29;
  }
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

std::string JsonHash(const json& value) { return ContentHash(value.dump()); }

namespace {

// Converts a yaml-cpp node tree to JSON with YAML 1.2 core-schema scalar resolution, bounded
// depth and node count (alias expansion included), and errors for duplicate keys, non-scalar keys
// and numbers that do not fit.
class Converter {
 public:
  Converter(const std::string& file, const LoadLimits& limits, std::vector<Diagnostic>& diags,
            std::string doc_name)
      : file_(file), limits_(limits), diags_(diags), doc_name_(std::move(doc_name)) {}

  bool Convert(const YAML::Node& node, json& out, int depth = 0) {
    if (++nodes_ > limits_.max_nodes_per_document) {
      if (!budget_reported_) {
        Error(node.Mark(), "document too large: more than " +
                               std::to_string(limits_.max_nodes_per_document) +
                               " nodes after expanding aliases (an alias bomb?)");
        budget_reported_ = true;
      }
      return false;
    }
    if (depth > limits_.max_depth) {
      // Once per document: an alias inside the node it names (`&a [*a]`) is nested without end
      // on every path through it, which would be one error per path (found by fuzz/loader).
      Error(node.Mark(), "nesting deeper than " + std::to_string(limits_.max_depth) +
                             " levels (or an alias inside the node it names)");
      budget_reported_ = true;
      return false;
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out = nullptr;
        return true;
      case YAML::NodeType::Scalar:
        return ConvertScalar(node, out);
      case YAML::NodeType::Sequence: {
        out = json::array();
        bool ok = true;
        for (const auto& item : node) {
          json v;
          ok = Convert(item, v, depth + 1) && ok;
          if (budget_reported_) return false;
          out.push_back(std::move(v));
        }
        return ok;
      }
      case YAML::NodeType::Map: {
        out = json::object();
        bool ok = true;
        std::map<std::string, YAML::Mark> seen;
        for (auto it = node.begin(); it != node.end(); ++it) {
          const YAML::Node k = it->first;  // a copy: `it->` is a temporary proxy
          if (!k.IsScalar()) {
            Error(k.Mark(), "mapping keys must be strings, found a " +
                                std::string(k.IsMap() ? "mapping" : "sequence"));
            ok = false;
            continue;
          }
          const std::string& key = k.Scalar();
          auto [pos, inserted] = seen.emplace(key, k.Mark());
          if (!inserted) {
            Error(k.Mark(), "duplicate key \"" + key + "\" (first defined at line " +
                                std::to_string(pos->second.line + 1) + ")");
            ok = false;
            continue;
          }
          json v;
          ok = Convert(it->second, v, depth + 1) && ok;
          if (budget_reported_) return false;
          out[key] = std::move(v);
        }
        return ok;
      }
    }
    return true;
  }

 private:
  bool ConvertScalar(const YAML::Node& node, json& out) {
    const std::string& s = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") {  // quoted, or explicitly a string
      out = s;
      return true;
    }
    if (tag != "?" && !tag.empty()) {
      if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
          tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null") {
        return Resolve(node, s, out, /*explicit_tag=*/true);
      }
      Error(node.Mark(), "unsupported tag " + tag + " (converge specs use plain YAML values)");
      return false;
    }
    return Resolve(node, s, out, false);
  }

  bool Resolve(const YAML::Node& node, const std::string& s, json& out, bool explicit_tag) {
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
      out = nullptr;
      return true;
    }
    if (s == "true" || s == "True" || s == "TRUE") {
      out = true;
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      out = false;
      return true;
    }
    if (LooksLikeInt(s)) {
      errno = 0;
      char* end = nullptr;
      int base = 10;
      std::string digits = s;
      bool neg = false;
      if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
        neg = digits[0] == '-';
        digits = digits.substr(1);
      }
      if (digits.rfind("0x", 0) == 0) base = 16, digits = digits.substr(2);
      else if (digits.rfind("0o", 0) == 0) base = 8, digits = digits.substr(2);
      unsigned long long v = std::strtoull(digits.c_str(), &end, base);
      if (errno == ERANGE || v > (neg ? 9223372036854775808ull : 9223372036854775807ull)) {
        Error(node.Mark(), "integer " + s + " is out of range (must fit in 64 bits)");
        return false;
      }
      out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
      return true;
    }
    if (LooksLikeFloat(s)) {
      if (s == ".inf" || s == "+.inf" || s == ".Inf" || s == "-.inf" || s == ".nan" || s == ".NaN") {
        Error(node.Mark(), "non-finite number " + s + " is not allowed");
        return false;
      }
      errno = 0;
      double d = std::strtod(s.c_str(), nullptr);
      if (errno == ERANGE || !std::isfinite(d)) {
        Error(node.Mark(), "number " + s + " is out of range");
        return false;
      }
      out = d;
      return true;
    }
    if (explicit_tag) {
      Error(node.Mark(), "value \"" + s + "\" does not match its tag " + node.Tag());
      return false;
    }
    out = s;
    return true;
  }

  static bool LooksLikeInt(const std::string& s) {
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i >= s.size()) return false;
    if (s.compare(i, 2, "0x") == 0) {
      if (i + 2 >= s.size()) return false;
      return std::all_of(s.begin() + i + 2, s.end(), [](char c) { return std::isxdigit(c); });
    }
    if (s.compare(i, 2, "0o") == 0) {
      if (i + 2 >= s.size()) return false;
      return std::all_of(s.begin() + i + 2, s.end(), [](char c) { return c >= '0' && c <= '7'; });
    }
    return std::all_of(s.begin() + i, s.end(), [](char c) { return std::isdigit(c); });
  }

  static bool LooksLikeFloat(const std::string& s) {
    static const char* kSpecial[] = {".inf", "+.inf", "-.inf", ".Inf", "+.Inf", "-.Inf",
                                     ".INF", "+.INF", "-.INF", ".nan", ".NaN", ".NAN"};
    for (const char* k : kSpecial)
      if (s == k) return true;
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    size_t i = 0, n = s.size();
    if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
    size_t int_digits = 0, frac_digits = 0;
    while (i < n && std::isdigit(s[i])) ++i, ++int_digits;
    if (i < n && s[i] == '.') {
      ++i;
      while (i < n && std::isdigit(s[i])) ++i, ++frac_digits;
    }
    if (int_digits + frac_digits == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
      size_t exp_digits = 0;
      while (i < n && std::isdigit(s[i])) ++i, ++exp_digits;
      if (exp_digits == 0) return false;
    }
    return i == n;
  }

  void Error(const YAML::Mark& m, std::string message) {
    diags_.push_back(Diagnostic{Severity::kError, PosOf(file_, m), doc_name_, std::move(message)});
  }

  const std::string& file_;
  const LoadLimits& limits_;
  std::vector<Diagnostic>& diags_;
  std::string doc_name_;
  size_t nodes_ = 0;
  bool budget_reported_ = false;  // the node budget or the depth is exceeded: the document stops
};

bool IsStringMap(const json& v) {
  if (!v.is_object()) return false;
  return std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); });
}

std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "sequence";
    case json::value_t::object: return "mapping";
    default: return "value";
  }
}

// Checks the envelope and fills `doc`; returns false (with diagnostics) when the document is
// unusable.
bool ParseEnvelope(json& root, const KindRegistry& registry, Document& doc,
                   std::vector<PathDiagnostic>& errs) {
  if (!root.is_object()) {
    errs.push_back({"", "expected a mapping with apiVersion, kind, metadata and spec, found a " +
                            TypeName(root)});
    return false;
  }
  bool ok = true;
  static const std::set<std::string> kTop = {"apiVersion", "kind", "metadata", "spec"};
  for (const auto& [k, _] : root.items()) {
    if (!kTop.count(k)) {
      errs.push_back({"/" + k, "unknown field \"" + k +
                                   "\" (expected apiVersion, kind, metadata, spec)"});
      ok = false;
    }
  }
  auto api = root.find("apiVersion");
  if (api == root.end()) {
    errs.push_back({"", "missing apiVersion (expected apiVersion: converge/v1)"});
    ok = false;
  } else if (!api->is_string() || *api != "converge/v1") {
    errs.push_back({"/apiVersion", "unsupported apiVersion " + api->dump() +
                                       " (expected converge/v1)"});
    ok = false;
  } else {
    doc.api_version = *api;
  }
  auto kind = root.find("kind");
  if (kind == root.end() || !kind->is_string()) {
    errs.push_back({kind == root.end() ? "" : "/kind",
                    "missing or non-string kind (expected one of: " + [&] {
                      std::string s;
                      for (const auto& k : registry.Kinds()) s += (s.empty() ? "" : ", ") + k;
                      return s;
                    }() + ")"});
    ok = false;
  } else if (!registry.Find(kind->get<std::string>())) {
    std::string s;
    for (const auto& k : registry.Kinds()) s += (s.empty() ? "" : ", ") + k;
    errs.push_back({"/kind", "unknown kind \"" + kind->get<std::string>() +
                                 "\" (expected one of: " + s + ")"});
    ok = false;
  } else {
    doc.kind = *kind;
  }
  auto meta = root.find("metadata");
  if (meta == root.end() || !meta->is_object()) {
    errs.push_back({meta == root.end() ? "" : "/metadata",
                    "missing metadata (expected a mapping with at least name)"});
    ok = false;
  } else {
    static const std::set<std::string> kMeta = {"name", "backend", "labels", "annotations"};
    for (const auto& [k, _] : meta->items()) {
      if (!kMeta.count(k)) {
        errs.push_back({"/metadata/" + k, "unknown metadata field \"" + k +
                                              "\" (expected name, backend, labels, annotations)"});
        ok = false;
      }
    }
    auto name = meta->find("name");
    if (name == meta->end() || !name->is_string() || name->get<std::string>().empty()) {
      errs.push_back({name == meta->end() ? "/metadata" : "/metadata/name",
                      "metadata.name must be a non-empty string"});
      ok = false;
    } else {
      doc.name = *name;
    }
    if (auto b = meta->find("backend"); b != meta->end()) {
      if (!b->is_string() || b->get<std::string>().empty()) {
        errs.push_back({"/metadata/backend", "metadata.backend must be a backend name (string)"});
        ok = false;
      } else {
        doc.backend = *b;
      }
    }
    for (const char* m : {"labels", "annotations"}) {
      auto it = meta->find(m);
      if (it == meta->end() || it->is_null()) continue;
      if (!IsStringMap(*it)) {
        errs.push_back({std::string("/metadata/") + m,
                        std::string("metadata.") + m +
                            " must map strings to strings (quote numbers and booleans)"});
        ok = false;
        continue;
      }
      auto& target = std::string(m) == "labels" ? doc.labels : doc.annotations;
      for (const auto& [k, v] : it->items()) target[k] = v.get<std::string>();
    }
  }
  auto spec = root.find("spec");
  if (spec == root.end() || !spec->is_object()) {
    errs.push_back({spec == root.end() ? "" : "/spec",
                    spec == root.end() ? "missing spec (expected a mapping)"
                                       : "spec must be a mapping, found a " + TypeName(*spec)});
    ok = false;
  } else {
    doc.spec = std::move(*spec);  // `root` is not read again
  }
  return ok;
}

void AddPathDiagnostics(const std::string& file, const YAML::Node& node, const Document& doc,
                        const std::vector<PathDiagnostic>& errs, std::vector<Diagnostic>& out) {
  for (const auto& e : errs) {
    YAML::Mark m = MarkForPointer(node, e.path);
    std::string where = e.path.empty() || e.path == "/spec" ? "" : e.path.substr(1) + ": ";
    std::replace(where.begin(), where.end(), '/', '.');
    out.push_back(
        Diagnostic{e.severity, PosOf(file, m), doc.Describe(), where + e.message, e.kind});
  }
}

}  // namespace

void LoadContent(const std::string& file, const std::string& content, const KindRegistry& registry,
                 const LoadLimits& limits, LoadResult& out) {
  ++out.files;
  auto fail = [&](SourcePos pos, std::string msg) {
    out.diagnostics.push_back(Diagnostic{Severity::kError, std::move(pos), "", std::move(msg)});
    out.failed_files.insert(file);
  };
  if (content.size() > limits.max_file_bytes) {
    fail(SourcePos{file, 0, 0}, "file is " + std::to_string(content.size()) +
                                    " bytes; the limit is " +
                                    std::to_string(limits.max_file_bytes) + " bytes");
    return;
  }
  std::string what;
  if (size_t bad = FindInvalidUtf8(content, &what); bad != std::string::npos) {
    fail(PosOfOffset(file, content, bad), what + " (spec files must be UTF-8 text)");
    return;
  }
  if (auto stray = FindEndlessDocuments(content)) {  // before LoadAll: it would never return
    fail(PosOfOffset(file, content, stray->offset), stray->message);
    return;
  }
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(content);
  } catch (const YAML::DeepRecursion& e) {
    fail(PosOf(file, e.mark), "nesting too deep for a spec document");
    return;
  } catch (const YAML::Exception& e) {
    if (auto q = ExplainUnterminatedQuote(content, e)) {
      fail(PosOfOffset(file, content, q->offset), q->message);
      return;
    }
    fail(PosOf(file, e.mark), "invalid YAML: " + e.msg);
    return;
  } catch (const std::exception& e) {
    fail(SourcePos{file, 0, 0}, std::string("invalid YAML: ") + e.what());
    return;
  }
  for (auto finding :
       {FindUnterminatedQuote(content, nodes), FindUnmarkedDocument(content, nodes)}) {
    if (finding) {
      fail(PosOfOffset(file, content, finding->offset), finding->message);
      return;
    }
  }
  size_t errors_before = out.ErrorCount();
  int index = -1;
  for (const YAML::Node& node : nodes) {
    ++index;
    if (node.IsNull() || !node.IsDefined()) continue;  // empty document (e.g. a trailing ---)
    Document doc;
    doc.index = index;
    doc.pos = PosOf(file, node.Mark());
    json root;
    std::string name_hint = "document " + std::to_string(index + 1);
    Converter conv(file, limits, out.diagnostics, name_hint);
    if (!conv.Convert(node, root)) continue;
    std::vector<PathDiagnostic> errs;
    bool envelope_ok = ParseEnvelope(root, registry, doc, errs);
    if (envelope_ok) {
      const KindInfo* info = registry.Find(doc.kind);
      if (info->validate_name) {
        std::string why = info->validate_name(doc.name);
        if (!why.empty()) errs.push_back({"/metadata/name", why});
      }
      // Kind validators see paths relative to the document root. They must not throw; if one
      // does (a bug: fuzz/ looks for this kind), the document is an error, not a crash.
      try {
        if (info->validate) info->validate(doc, errs);
      } catch (const std::exception& e) {
        errs.push_back(
            {"", std::string(kValidatorFailed) + e.what(), Severity::kError, kValidatorFailedKind});
      }
    }
    AddPathDiagnostics(file, node, doc, errs, out.diagnostics);
    bool has_error = !envelope_ok || std::any_of(errs.begin(), errs.end(), [](const auto& e) {
      return e.severity == Severity::kError;
    });
    if (has_error) continue;
    doc.name_pos = PosOf(file, MarkForPointer(node, "/metadata/name"));
    if (!doc.backend.empty())
      doc.backend_pos = PosOf(file, MarkForPointer(node, "/metadata/backend"));
    if (const KindInfo* info = registry.Find(doc.kind); info && info->references) {
      doc.references = info->references(doc);
      for (SpecReference& r : doc.references) r.pos = PosOf(file, MarkForPointer(node, r.pointer));
    }
    json identity = {{"kind", doc.kind},     {"name", doc.name},
                     {"backend", doc.backend}, {"labels", doc.labels},
                     {"annotations", doc.annotations}, {"spec", std::move(doc.spec.Edit())}};
    doc.revision = JsonHash(identity).substr(0, 16);
    // The hash and the validators saw this tree; from here on the document keeps it packed.
    doc.spec = std::move(identity["spec"]);
    doc.spec.Pack();
    out.documents.push_back(std::move(doc));
  }
  if (out.ErrorCount() > errors_before) out.failed_files.insert(file);
}

}  // namespace converge
