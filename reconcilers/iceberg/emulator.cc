// The Iceberg catalog emulator's front: routing, auth, config, namespaces, Idempotency-Key,
// knobs, admin routes, persistence. Tables and commits are in emulator_tables.cc, the writer and
// maintenance simulation in emulator_writer.cc.
#include "reconcilers/iceberg/emulator.h"

#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/iceberg/emulator_internal.h"

namespace converge::iceberg {

namespace fs = std::filesystem;

constexpr int64_t kIdempotencyLifetimeMs = 30 * 60 * 1000;  // PT30M

Reply ErrorReply(int status, const std::string& type, const std::string& message) {
  Reply r;
  r.status = status;
  r.body = {{"error", {{"message", message}, {"type", type}, {"code", status}}}};
  return r;
}

Failure BadRequest(const std::string& message) {
  return Failure{400, "BadRequestException", message};
}

std::string JoinNs(const Namespace& ns, char sep) {
  std::string out;
  for (size_t i = 0; i < ns.size(); ++i) out += (i ? std::string(1, sep) : "") + ns[i];
  return out;
}

std::string LocalPath(const std::string& uri) {
  if (uri.rfind("file://", 0) == 0) return uri.substr(7);
  if (uri.rfind("file:", 0) == 0) return uri.substr(5);
  return uri;
}

std::optional<Failure> CheckName(const std::string& part, const char* what) {
  if (part.empty() || part == "." || part == ".." || part.find('/') != std::string::npos ||
      part.find('\\') != std::string::npos || part.find('\0') != std::string::npos)
    return BadRequest(std::string("Invalid ") + what + " name: '" + part + "'");
  return std::nullopt;
}

namespace {

Namespace SplitNs(const std::string& s) {
  Namespace out;
  size_t start = 0;
  while (true) {
    size_t end = s.find('\x1f', start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

const std::vector<std::string>& Endpoints() {
  static const std::vector<std::string> kEndpoints = {
      "GET /v1/{prefix}/namespaces",
      "POST /v1/{prefix}/namespaces",
      "GET /v1/{prefix}/namespaces/{namespace}",
      "HEAD /v1/{prefix}/namespaces/{namespace}",
      "DELETE /v1/{prefix}/namespaces/{namespace}",
      "POST /v1/{prefix}/namespaces/{namespace}/properties",
      "GET /v1/{prefix}/namespaces/{namespace}/tables",
      "POST /v1/{prefix}/namespaces/{namespace}/tables",
      "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
      "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
      "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
      "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
      "POST /v1/{prefix}/tables/rename",
      "POST /v1/{prefix}/transactions/commit",
  };
  return kEndpoints;
}

json ParseBody(const std::string& body, std::optional<Failure>* err) {
  json j = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) *err = BadRequest("Malformed request: invalid JSON body");
  return j;
}

// Items [token, token + size) of `all`; sets next-page-token when more are left.
template <typename T>
json Page(const std::vector<T>& all, const std::map<std::string, std::string>& q,
          const char* member, std::optional<Failure>* err) {
  size_t start = 0, size = all.size();
  try {
    if (auto it = q.find("pageToken"); it != q.end() && !it->second.empty())
      start = std::stoul(it->second);
    if (auto it = q.find("pageSize"); it != q.end() && !it->second.empty())
      size = std::stoul(it->second);
  } catch (...) {
    *err = BadRequest("Invalid pageToken or pageSize");
    return {};
  }
  if (size == 0) size = all.size();
  json items = json::array();
  for (size_t i = start; i < all.size() && i < start + size; ++i) items.push_back(all[i]);
  json out = {{member, items}};
  if (start + size < all.size()) out["next-page-token"] = std::to_string(start + size);
  return out;
}

}  // namespace

Emulator::Impl::Impl(EmulatorOptions opts) : o(std::move(opts)), rng(std::random_device{}()) {
  if (!o.now_ms) {
    o.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (!o.sleep_ms) {
    o.sleep_ms = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  }
  if (o.warehouse.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "converge-iceberg-XXXXXX").string();
    if (char* d = mkdtemp(tmpl.data())) o.warehouse = d;
    temp_warehouse = true;
  }
  std::error_code ec;
  fs::create_directories(o.warehouse, ec);
  o.warehouse = fs::absolute(o.warehouse, ec).lexically_normal().string();
  while (o.warehouse.size() > 1 && o.warehouse.back() == '/') o.warehouse.pop_back();
}

std::string Emulator::Impl::Uuid() {
  uint64_t a = rng(), b = rng();
  a = (a & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  char buf[40];
  snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
           static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
           static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

int64_t Emulator::Impl::NewSnapshotId() {
  while (true) {
    int64_t id = static_cast<int64_t>(rng() & 0x7FFFFFFFFFFFFFFFull);
    if (id != 0) return id;
  }
}

Emulator::Emulator(EmulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Emulator::~Emulator() {
  if (impl_->temp_warehouse) {
    std::error_code ec;
    fs::remove_all(impl_->o.warehouse, ec);
  }
}

std::string Emulator::Warehouse() const {
  return impl_->o.warehouse;
}

void Emulator::Mount(httplib::Server& server, const std::string& prefix) {
  MountUnderPrefix(server, prefix,
                   [this](const httplib::Request& req, httplib::Response& res,
                          const std::string& rest) { Handle(req, res, rest); });
}

namespace {

void Write(const Reply& r, httplib::Response& res) {
  res.status = r.status;
  for (const auto& [k, v] : r.headers) res.set_header(k, v);
  if (!r.body.is_null()) res.set_content(r.body.dump(), "application/json");
}

Reply OAuthError(int status, const std::string& error, const std::string& description) {
  Reply r;
  r.status = status;
  r.body = {{"error", error}, {"error_description", description}};
  return r;
}

}  // namespace

void Emulator::Handle(const httplib::Request& req, httplib::Response& res,
                      const std::string& path) {
  Impl& s = *impl_;
  const std::string method = req.method == "HEAD" ? "HEAD" : req.method;
  std::map<std::string, std::string> query;
  for (const auto& [k, v] : req.params) query[k] = v;
  bool mutated = false;
  Reply reply;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    const int64_t now = s.Now();
    if (path == "/v1/oauth/tokens" && method == "POST") {
      httplib::Params form;
      httplib::detail::parse_query_text(req.body, form);
      auto get = [&](const char* k) {
        auto it = form.find(k);
        return it == form.end() ? std::string() : it->second;
      };
      if (s.o.auth != "oauth2") {
        reply = OAuthError(400, "unsupported_grant_type", "this catalog does not issue tokens");
      } else if (get("grant_type") != "client_credentials") {
        reply = OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials");
      } else if (get("client_id") != s.o.client_id || get("client_secret") != s.o.client_secret) {
        reply = OAuthError(401, "invalid_client", "unknown client or wrong secret");
      } else {
        const std::string token = "sandbox-" + s.Uuid();
        s.tokens[token] = now + int64_t{s.o.token_expires_in_s} * 1000;
        reply.body = {{"access_token", token},
                      {"token_type", "bearer"},
                      {"expires_in", s.o.token_expires_in_s},
                      {"issued_token_type", "urn:ietf:params:oauth:token-type:access_token"}};
      }
      s.LogWrite(req, path, reply.status);
      Write(reply, res);
      return;
    }
    if (s.o.auth != "none") {
      std::string auth = req.get_header_value("Authorization");
      std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
      std::string why;
      if (token.empty()) {
        why = "Not authorized: missing bearer token";
      } else if (s.o.auth == "bearer" && token != s.o.bearer_token) {
        why = "Not authorized: invalid token";
      } else if (s.o.auth == "oauth2") {
        auto it = s.tokens.find(token);
        if (it == s.tokens.end())
          why = "Not authorized: invalid token";
        else if (now >= it->second)
          why = "Not authorized: token expired";
      }
      if (!why.empty()) {
        Reply r = ErrorReply(401, "NotAuthorizedException", why);
        r.headers["WWW-Authenticate"] = "Bearer";
        s.LogWrite(req, path, r.status);
        Write(r, res);
        return;
      }
    }
    const std::string key = req.get_header_value("Idempotency-Key");
    const bool keyed = !key.empty() && (method == "POST" || method == "DELETE");
    if (keyed) {
      for (auto it = s.idempotent.begin(); it != s.idempotent.end();) {
        it = now - it->second.first > kIdempotencyLifetimeMs ? s.idempotent.erase(it) : ++it;
      }
      if (auto it = s.idempotent.find(key); it != s.idempotent.end()) {
        s.LogWrite(req, path, it->second.second.status);
        Write(it->second.second, res);
        return;
      }
    }
    std::optional<Failure> err;
    std::vector<std::string> parts = SplitPath(path);
    if (parts.size() < 2 || parts[0] != "v1") {
      reply = ErrorReply(404, "NotFoundException", "No route for " + method + " " + path);
    } else if (parts.size() == 2 && parts[1] == "config" && method == "GET") {
      json overrides = json::object();
      if (!s.o.prefix.empty()) overrides["prefix"] = s.o.prefix;
      reply.body = {{"defaults", json::object()},
                    {"overrides", overrides},
                    {"endpoints", Endpoints()},
                    {"idempotency-key-lifetime", "PT30M"}};
    } else {
      parts.erase(parts.begin());
      if (!s.o.prefix.empty()) {
        if (parts.empty() || parts[0] != s.o.prefix)
          parts.clear();
        else
          parts.erase(parts.begin());
      }
      json body;
      if (method == "POST") body = ParseBody(req.body, &err);
      const size_t n = parts.size();
      if (err) {
        reply = ErrorReply(*err);
      } else if (n == 2 && parts[0] == "tables" && parts[1] == "rename" && method == "POST") {
        reply = s.RenameTable(body);
      } else if (n == 2 && parts[0] == "transactions" && parts[1] == "commit" && method == "POST") {
        reply = s.CommitTransaction(body);
      } else if (n == 1 && parts[0] == "namespaces" && method == "GET") {
        Namespace parent;
        if (auto it = query.find("parent"); it != query.end() && !it->second.empty())
          parent = SplitNs(it->second);
        if (!parent.empty() && s.namespaces.count(parent) == 0) {
          reply = ErrorReply(404, "NoSuchNamespaceException",
                             "Namespace does not exist: " + JoinNs(parent));
        } else {
          std::vector<Namespace> children;
          for (const auto& [ns, props] : s.namespaces) {
            if (ns.size() <= parent.size() || !std::equal(parent.begin(), parent.end(), ns.begin()))
              continue;
            Namespace child(ns.begin(), ns.begin() + static_cast<long>(parent.size()) + 1);
            if (children.empty() || children.back() != child) children.push_back(child);
          }
          json page = Page(children, query, "namespaces", &err);
          reply = err ? ErrorReply(*err) : Reply{200, page, {}};
        }
      } else if (n == 1 && parts[0] == "namespaces" && method == "POST") {
        Namespace ns;
        if (body.contains("namespace") && body["namespace"].is_array()) {
          for (const json& p : body["namespace"])
            ns.push_back(p.is_string() ? p.get<std::string>() : "");
        }
        json props = body.value("properties", json::object());
        if (ns.empty()) err = BadRequest("Malformed request: namespace must be a non-empty array");
        for (const std::string& p : ns)
          if (!err) err = CheckName(p, "namespace");
        if (!err && !props.is_object()) err = BadRequest("properties must be an object");
        for (auto it = props.begin(); !err && it != props.end(); ++it)
          if (!it->is_string()) err = BadRequest("property values must be strings");
        if (err) {
          reply = ErrorReply(*err);
        } else if (s.namespaces.count(ns)) {
          reply =
              ErrorReply(409, "AlreadyExistsException", "Namespace already exists: " + JoinNs(ns));
        } else {
          s.namespaces[ns] = props;
          mutated = true;
          reply.body = {{"namespace", ns}, {"properties", props}};
        }
      } else if (n >= 2 && parts[0] == "namespaces") {
        Namespace ns = SplitNs(parts[1]);
        auto it = s.namespaces.find(ns);
        if (it == s.namespaces.end()) {
          reply = ErrorReply(404, "NoSuchNamespaceException",
                             "Namespace does not exist: " + JoinNs(ns));
        } else if (n == 2 && (method == "GET" || method == "HEAD")) {
          reply.status = method == "HEAD" ? 204 : 200;
          if (method == "GET") reply.body = {{"namespace", ns}, {"properties", it->second}};
        } else if (n == 2 && method == "DELETE") {
          bool used = false;
          for (const auto& [k, t] : s.tables) used = used || k.first == ns;
          for (const auto& [other, p] : s.namespaces)
            used = used ||
                   (other.size() > ns.size() && std::equal(ns.begin(), ns.end(), other.begin()));
          if (used) {
            reply = ErrorReply(409, "NamespaceNotEmptyException",
                               "Namespace is not empty: " + JoinNs(ns));
          } else {
            s.namespaces.erase(it);
            mutated = true;
            reply.status = 204;
          }
        } else if (n == 3 && parts[2] == "properties" && method == "POST") {
          json removals = body.value("removals", json::array());
          json updates = body.value("updates", json::object());
          json removed = json::array(), missing = json::array(), updated = json::array();
          if (!removals.is_array() || !updates.is_object()) {
            reply = ErrorReply(BadRequest("removals must be an array and updates an object"));
          } else {
            for (const json& k : removals) {
              if (!k.is_string()) continue;
              if (updates.contains(k.get<std::string>())) {
                err = Failure{422, "UnprocessableEntityException",
                              "Key in both removals and updates: " + k.get<std::string>()};
              }
            }
            if (err) {
              reply = ErrorReply(*err);
            } else {
              for (const json& k : removals) {
                if (!k.is_string()) continue;
                (it->second.erase(k.get<std::string>()) ? removed : missing).push_back(k);
              }
              for (auto u = updates.begin(); u != updates.end(); ++u) {
                it->second[u.key()] = u->is_string() ? u->get<std::string>() : u->dump();
                updated.push_back(u.key());
              }
              mutated = true;
              reply.body = {{"updated", updated}, {"removed", removed}, {"missing", missing}};
            }
          }
        } else if (n >= 3 && parts[2] == "tables") {
          std::string rest;
          for (size_t i = 3; i < n; ++i) rest += "/" + parts[i];
          bool appended = false;  // a commit fault's writer commit (emulator_requests.cc)
          const int answer_as =
              method == "POST" && n == 4 ? s.BeforeCommit(JoinNs(ns) + "." + parts[3], req.body, &appended) : 0;
          reply =
              s.Tables(method, ns, rest, req.body, query, req.get_header_value("If-None-Match"));
          mutated = appended || ((method == "POST" || method == "DELETE") && reply.status < 300);
          if (answer_as != 0 && reply.status < 300)
            reply = ErrorReply(answer_as, answer_as >= 500 ? "CommitStateUnknownException"
                                                           : "BadRequestException",
                               "converge sandbox: injected fault (the commit was carried out)");
        } else {
          reply = ErrorReply(404, "NotFoundException", "No route for " + method + " " + path);
        }
      } else {
        reply = ErrorReply(404, "NotFoundException", "No route for " + method + " " + path);
      }
      if (method == "POST" && !mutated && reply.status < 300 && n == 2) mutated = true;
    }
    if (keyed && reply.status < 500) s.idempotent[key] = {now, reply};
    s.LogWrite(req, path, reply.status);
  }
  Write(reply, res);
  if (mutated && s.observer) s.observer();
}

void Emulator::SetTransitionMs(int ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->o.transition_ms = ms;
}

int Emulator::TransitionMs() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->o.transition_ms;
}

void Emulator::SetFailingImages(std::vector<std::string> images) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->o.failing_images = std::move(images);
}

std::vector<std::string> Emulator::FailingImages() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->o.failing_images;
}

void Emulator::Impl::Wipe() {
  std::error_code ec;
  for (const auto& [k, t] : tables) {
    fs::path loc = LocalPath(t.metadata.value("location", ""));
    const std::string rel = loc.lexically_relative(o.warehouse).string();
    if (!rel.empty() && rel.rfind("..", 0) != 0) fs::remove_all(loc, ec);
  }
  tables.clear();
  namespaces.clear();
  idempotent.clear();
}

void Emulator::Reset() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->Wipe();
    impl_->writes.clear();
    impl_->commit_faults.clear();
  }
  if (impl_->observer) impl_->observer();
}

json Emulator::Impl::Export() const {
  json jns = json::array(), jt = json::array();
  for (const auto& [ns, props] : namespaces)
    jns.push_back({{"namespace", ns}, {"properties", props}});
  for (const auto& [k, t] : tables)
    jt.push_back(
        {{"namespace", t.ns}, {"name", t.name}, {"metadata_location", t.metadata_location}});
  return {{"namespaces", jns}, {"tables", jt}};
}

Status Emulator::Impl::Import(const json& state) {
  if (!state.is_object()) return InvalidError("iceberg state must be an object");
  std::map<Namespace, json> new_ns;
  std::map<TableKey, Table> new_tables;
  try {
    for (const json& j : state.value("namespaces", json::array()))
      new_ns[j.at("namespace").get<Namespace>()] = j.value("properties", json::object());
    for (const json& j : state.value("tables", json::array())) {
      Table t;
      t.ns = j.at("namespace").get<Namespace>();
      t.name = j.at("name").get<std::string>();
      t.metadata_location = j.at("metadata_location").get<std::string>();
      std::ifstream in(LocalPath(t.metadata_location));
      if (!in)
        return NotFoundError("iceberg table " + t.Dotted() + ": cannot read " +
                             t.metadata_location);
      t.metadata = json::parse(in, nullptr, false);
      if (t.metadata.is_discarded() || !t.metadata.is_object())
        return InvalidError("iceberg table " + t.Dotted() + ": " + t.metadata_location +
                            " is not JSON");
      new_tables[{t.ns, t.name}] = std::move(t);
    }
  } catch (const json::exception& e) {
    return InvalidError(std::string("iceberg state: ") + e.what());
  }
  namespaces = std::move(new_ns);
  tables = std::move(new_tables);
  return Status::Ok();
}

json Emulator::ExportState() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Export();
}

Status Emulator::ImportState(const json& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Import(state);
}

void Emulator::SetMutationObserver(std::function<void()> observer) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->observer = std::move(observer);
}

void Emulator::AnswerFault(int status, const std::string& body, httplib::Response& res) const {
  if (!body.empty()) return emulator::DefaultFaultAnswer(status, body, res);
  std::string type = "RESTException";
  if (status == 400) type = "BadRequestException";
  if (status == 401) type = "NotAuthorizedException";
  if (status == 403) type = "ForbiddenException";
  if (status == 404) type = "NoSuchTableException";
  if (status == 409) type = "CommitFailedException";
  if (status == 500 || status == 502 || status == 504) type = "CommitStateUnknownException";
  if (status == 503) type = "ServiceUnavailableException";
  Write(ErrorReply(status, type, "converge sandbox: injected fault"), res);
}

namespace {

Reply FromResult(const Result<json>& r) {
  if (r.ok()) return Reply{200, *r, {}};
  const Status& st = r.status();
  if (st.code() == Code::kNotFound) return ErrorReply(404, "NoSuchTableException", st.message());
  if (st.code() == Code::kInvalid) return ErrorReply(400, "BadRequestException", st.message());
  if (st.code() == Code::kConflict) return ErrorReply(409, "CommitFailedException", st.message());
  return ErrorReply(500, "RuntimeException", st.message());
}

}  // namespace

Result<json> Emulator::Append(const json& request) {
  Result<json> r = [&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->Append(request);
  }();
  if (impl_->observer) impl_->observer();
  return r;
}

Result<json> Emulator::Rewrite(const json& request) {
  impl_->o.sleep_ms(TransitionMs());
  Result<json> r = [&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->Rewrite(request);
  }();
  if (impl_->observer) impl_->observer();
  return r;
}

Result<json> Emulator::RemoveOrphans(const json& request) {
  impl_->o.sleep_ms(TransitionMs());
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->RemoveOrphans(request);
}

void Emulator::MountAdmin(httplib::Server& server, const std::string& admin_prefix) {
  using Fn = Result<json> (Emulator::*)(const json&);
  for (auto [route, fn] :
       std::vector<std::pair<const char*, Fn>>{{"/append", &Emulator::Append},
                                               {"/rewrite", &Emulator::Rewrite},
                                               {"/remove-orphans", &Emulator::RemoveOrphans}}) {
    server.Post(
        admin_prefix + route, [this, fn = fn](const httplib::Request& req, httplib::Response& res) {
          json body = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
          if (body.is_discarded() || !body.is_object())
            return Write(ErrorReply(400, "BadRequestException", "body must be a JSON object"), res);
          Write(FromResult((this->*fn)(body)), res);
        });
  }
  server.Get(admin_prefix + "/tables", [this](const httplib::Request&, httplib::Response& res) {
    json out = ExportState();
    out["warehouse"] = Warehouse();
    Write(Reply{200, out, {}}, res);
  });
  impl_->MountRequestAdmin(server, admin_prefix);
}

}  // namespace converge::iceberg
