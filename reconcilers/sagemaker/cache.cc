// The SageMaker reconciler's caches across processes (Options::cache_file) and the record of its
// own writes, which Observe reads directly while the Search index may lag behind them.
//
// File: {"version": 1, "tags": {arn: {"tags": {...}, "created": t, "at": t}},
//        "models": {config name: {"models": [...], "created": t}}, "written": {"Kind/name": t}}
// (times in epoch seconds). Written whole to a temporary file and renamed: a concurrent reader
// sees the old or the new file, and two writers lose at most each other's additions — a cache.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "reconcilers/sagemaker/client.h"
#include "reconcilers/sagemaker/reconciler.h"
#include "reconcilers/sagemaker/reconciler_internal.h"

namespace converge::sagemaker {
namespace {

constexpr int kCacheVersion = 1;

std::string LowerCase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The object a write names: "Kind/name" from the request's name member or its ResourceArn.
std::string WrittenKey(const json& input) {
  static const std::pair<const char*, const char*> kMembers[] = {
      {"EndpointName", "Endpoint"},
      {"EndpointConfigName", "EndpointConfig"},
      {"ModelName", "Model"}};
  for (const auto& [member, kind] : kMembers)
    if (input.contains(member) && input[member].is_string())
      return std::string(kind) + "/" + input[member].get<std::string>();
  if (input.contains("ResourceArn") && input["ResourceArn"].is_string()) {
    const std::string arn = input["ResourceArn"];
    static const std::pair<const char*, const char*> kTypes[] = {
        {":endpoint/", "Endpoint"}, {":endpoint-config/", "EndpointConfig"}, {":model/", "Model"}};
    for (const auto& [type, kind] : kTypes)
      if (auto at = arn.find(type); at != std::string::npos)
        return std::string(kind) + "/" + arn.substr(at + std::strlen(type));
  }
  return "";
}

// Forwards to the real Api and reports every write (what it names) to the reconciler.
class WriteNotingApi : public Api {
 public:
  WriteNotingApi(std::unique_ptr<Api> inner, std::function<void(const std::string&)> on_write)
      : inner_(std::move(inner)), on_write_(std::move(on_write)) {}
  Result<json> Call(const std::string& operation, const json& input) override {
    auto r = inner_->Call(operation, input);
    // Failed writes too: their outcome may be unknown.
    if (!IsReadOnlyOperation(operation)) {
      std::string key = WrittenKey(input);
      if (!key.empty()) on_write_(key);
    }
    return r;
  }
  Status ListAll(const std::string& operation, json input, const std::string& member,
                 const std::function<Status(json&)>& visit) override {
    return inner_->ListAll(operation, std::move(input), member, visit);
  }
  long RequestCount() const override { return inner_->RequestCount(); }
  long WriteCount() const override { return inner_->WriteCount(); }

 private:
  std::unique_ptr<Api> inner_;
  std::function<void(const std::string&)> on_write_;
};

}  // namespace

std::unique_ptr<Api> NotingWrites(std::unique_ptr<Api> api,
                                  std::function<void(const std::string&)> on_write) {
  return std::make_unique<WriteNotingApi>(std::move(api), std::move(on_write));
}

double Reconciler::WallSeconds() const {
  Clock& clock = options_.clock != nullptr ? *options_.clock : SystemClock();
  return std::chrono::duration<double>(clock.WallNow().time_since_epoch()).count();
}

void Reconciler::NoteWrite(const std::string& key) {
  LoadCache();
  {
    std::lock_guard<std::mutex> lock(tag_mu_);
    written_[key] = WallSeconds();
    cache_dirty_ = true;
    // Saved at most once a second while writes go on, and when the reconciler goes away: a plan
    // in another process right after this apply must know.
    if (WallSeconds() - saved_at_ < 1) return;
  }
  SaveCache();
}

bool Reconciler::WrittenLately(const std::string& kind, const std::string& name) {
  std::lock_guard<std::mutex> lock(tag_mu_);
  auto it = written_.find(kind + "/" + name);
  if (it == written_.end() && kind == "Endpoint")  // tags are written by ARN: lower-case name
    it = written_.find(kind + "/" + LowerCase(name));
  return it != written_.end() && WallSeconds() - it->second < kSearchLag;
}

void Reconciler::LoadCache() {
  std::lock_guard<std::mutex> lock(tag_mu_);
  if (cache_loaded_) return;
  cache_loaded_ = true;
  if (options_.cache_file.empty()) return;
  std::ifstream in(options_.cache_file);
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("version", 0) != kCacheVersion) return;
  try {
    const json tags = doc.value("tags", json::object());
    const json models = doc.value("models", json::object());
    const json written = doc.value("written", json::object());
    for (const auto& [arn, e] : tags.items())
      tag_cache_[arn] = CachedTags{e.at("tags").get<std::map<std::string, std::string>>(),
                                   e.at("created").get<double>(), e.at("at").get<double>()};
    for (const auto& [name, e] : models.items())
      config_models_cache_[name] = CachedModels{e.at("models").get<std::vector<std::string>>(),
                                                e.at("created").get<double>()};
    for (const auto& [key, at] : written.items()) written_[key] = at.get<double>();
  } catch (const json::exception&) {  // a broken cache is an empty one
    tag_cache_.clear();
    config_models_cache_.clear();
    written_.clear();
  }
}

void Reconciler::SaveCache() {
  std::optional<std::set<std::string>> configs;  // the configs that exist, after a full observe
  {
    std::lock_guard<std::mutex> lock(known_mu_);
    if (auto it = known_.find("EndpointConfig"); it != known_.end()) configs = it->second;
  }
  std::lock_guard<std::mutex> lock(tag_mu_);
  if (options_.cache_file.empty() || !cache_dirty_) return;
  cache_dirty_ = false;
  const double now = WallSeconds();
  saved_at_ = now;
  json doc = {{"version", kCacheVersion},
              {"tags", json::object()},
              {"models", json::object()},
              {"written", json::object()}};
  for (const auto& [arn, e] : tag_cache_)
    if (now - e.at < kTagCacheTtl)  // expired entries would be re-read anyway
      doc["tags"][arn] = {{"tags", e.tags}, {"created", e.created}, {"at", e.at}};
  for (const auto& [name, e] : config_models_cache_)
    if (!configs || configs->count(name))
      doc["models"][name] = {{"models", e.models}, {"created", e.created}};
  for (const auto& [key, at] : written_)
    if (now - at < kSearchLag) doc["written"][key] = at;
  const std::string tmp = options_.cache_file + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return;
    out << doc.dump();
    if (!out.flush()) {
      std::remove(tmp.c_str());
      return;
    }
  }
  if (std::rename(tmp.c_str(), options_.cache_file.c_str()) != 0) std::remove(tmp.c_str());
}

}  // namespace converge::sagemaker
