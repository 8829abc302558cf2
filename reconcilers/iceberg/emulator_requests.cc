// The Iceberg emulator's write log and commit faults, for tests that check what a client sent:
//   GET    /_admin/iceberg/requests       {"requests": [{"method", "path", "query", "content_type",
//                                          "body", "status"}]}: the last writes (POST, DELETE) to
//                                          the catalog, the OAuth2 token request included (its
//                                          form as an object, client_secret redacted); JSON
//                                          bodies parsed. DELETE clears it.
//   POST   /_admin/iceberg/commit-faults  {"table": "ns.t", "status": 502, "append_before":
//                                          {"files_per_commit": K, "file_size_bytes": B},
//                                          "update": "remove-snapshots", "count": 1}: the next
//                                          `count` commits to the table (with an update of that
//                                          action when `update` is given)
//                                          (POST .../tables/<t>) first see a writer commit land
//                                          (append_before: a concurrent writer, so a commit
//                                          guarded on main answers 409), and/or are carried out
//                                          and then answered `status` (a 5xx: the commit landed
//                                          but the client cannot know). GET lists, DELETE clears.
#include <httplib.h>

#include <set>

#include "reconcilers/common/emulator/mount.h"
#include "reconcilers/iceberg/emulator_internal.h"

namespace converge::iceberg {

namespace {

constexpr size_t kWriteLogSize = 2000;

void Answer(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

void Emulator::Impl::LogWrite(const httplib::Request& req, const std::string& path, int status) {
  if (req.method == "GET" || req.method == "HEAD") return;
  const std::string type = req.get_header_value("Content-Type");
  json body;
  if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
    httplib::Params form;
    httplib::detail::parse_query_text(req.body, form);
    body = json::object();
    for (const auto& [k, v] : form)
      body[k] = k == "client_secret" ? std::string("<redacted>") : v;
  } else {
    body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) body = req.body.empty() ? json() : json(req.body);
  }
  json query = json::object();
  for (const auto& [k, v] : req.params) query[k] = v;
  writes.push_back({{"method", req.method},
                    {"path", path},
                    {"query", query},
                    {"content_type", type},
                    {"idempotency_key", req.get_header_value("Idempotency-Key")},
                    {"body", body},
                    {"status", status}});
  while (writes.size() > kWriteLogSize) writes.pop_front();
}

int Emulator::Impl::BeforeCommit(const std::string& table, const std::string& body,
                                 bool* mutated) {
  int status = 0;
  std::set<std::string> actions;
  json request = json::parse(body, nullptr, false);
  if (request.is_object() && request.contains("updates") && request["updates"].is_array())
    for (const json& u : request["updates"])
      if (u.is_object() && u.contains("action") && u["action"].is_string())
        actions.insert(u["action"].get<std::string>());
  for (CommitFault& f : commit_faults) {
    if (f.table != table || f.count == 0) continue;
    if (!f.update.empty() && actions.count(f.update) == 0) continue;
    if (f.count > 0) --f.count;
    ++f.fired;
    if (f.append_before.is_object()) {
      json a = f.append_before;
      a["table"] = table;
      a["commits"] = 1;
      if (Append(a).ok()) *mutated = true;
    }
    if (f.status != 0) status = f.status;
    break;
  }
  return status;
}

void Emulator::Impl::MountRequestAdmin(httplib::Server& server, const std::string& admin_prefix) {
  server.Get(admin_prefix + "/requests", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    Answer(res, 200, {{"requests", json(std::vector<json>(writes.begin(), writes.end()))}});
  });
  server.Delete(admin_prefix + "/requests", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    writes.clear();
    Answer(res, 200, {{"requests", json::array()}});
  });
  auto list = [this] {
    json out = json::array();
    for (const CommitFault& f : commit_faults)
      out.push_back({{"table", f.table},
                     {"status", f.status},
                     {"append_before", f.append_before},
                     {"update", f.update},
                     {"remaining", f.count},
                     {"fired", f.fired}});
    return json{{"commit_faults", out}};
  };
  server.Get(admin_prefix + "/commit-faults",
             [this, list](const httplib::Request&, httplib::Response& res) {
               std::lock_guard<std::mutex> lock(mu);
               Answer(res, 200, list());
             });
  server.Delete(admin_prefix + "/commit-faults",
                [this, list](const httplib::Request&, httplib::Response& res) {
                  std::lock_guard<std::mutex> lock(mu);
                  commit_faults.clear();
                  Answer(res, 200, list());
                });
  server.Post(admin_prefix + "/commit-faults", [this, list](const httplib::Request& req,
                                                            httplib::Response& res) {
    json b = json::parse(req.body, nullptr, false);
    CommitFault f;
    std::string why;
    if (!b.is_object() || !b.contains("table") || !b["table"].is_string()) {
      why = "body must be an object with table (\"ns.table\")";
    } else {
      f.table = b["table"].get<std::string>();
      if (b.contains("status") && (!b["status"].is_number_integer() ||
                                   b["status"].get<int>() < 400 || b["status"].get<int>() > 599))
        why = "status must be an HTTP error status (400-599)";
      else
        f.status = b.value("status", 0);
      if (b.contains("append_before") && !b["append_before"].is_object())
        why = "append_before must be an object (files_per_commit, file_size_bytes)";
      else if (b.contains("append_before"))
        f.append_before = b["append_before"];
      if (b.contains("count") && !b["count"].is_number_integer()) why = "count must be an integer";
      if (b.contains("update") && !b["update"].is_string()) why = "update must be an action name";
      f.update = b.value("update", "");
      f.count = b.value("count", 1);
      if (f.status == 0 && f.append_before.is_null() && why.empty())
        why = "a commit fault needs status or append_before";
    }
    if (!why.empty()) {
      Answer(res, 400, {{"error", {{"message", why}, {"type", "BadRequestException"}, {"code", 400}}}});
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    commit_faults.push_back(std::move(f));
    Answer(res, 201, list());
  });
}

}  // namespace converge::iceberg
