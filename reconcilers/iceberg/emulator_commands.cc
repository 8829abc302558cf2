// Commands other emulators' jobs run against the catalog (a YARN application's AM command): the
// Spark SQL procedure calls `CALL [catalog.]system.rewrite_data_files(...)` and
// `CALL [catalog.]system.remove_orphan_files(...)`, with named (`table => 'db.t'`) or positional
// arguments, `options => map('target-file-size-bytes', '...', 'min-input-files', '...')`,
// `where => "col = 'value'"`, `older_than => TIMESTAMP 'YYYY-MM-DD HH:MM:SS'`, `dry_run => true`.
#include <cctype>
#include <cstdio>
#include <ctime>

#include "reconcilers/iceberg/emulator_internal.h"
#include "specs/base/ascii.h"

namespace converge::iceberg {
namespace {

// One argument value: a quoted string, map(...) (as a JSON object), TIMESTAMP '...', or a bare
// word / number.
struct Parser {
  std::string s;
  size_t i = 0;

  void Space() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool Eat(char c) {
    Space();
    if (i < s.size() && s[i] == c) return ++i, true;
    return false;
  }
  // '...' or "...", also shell-escaped as \"...\" inside a double-quoted command line.
  std::optional<std::string> Quoted() {
    Space();
    const bool escaped = i + 1 < s.size() && s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\'');
    if (escaped) ++i;
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) return std::nullopt;
    const char q = s[i++];
    std::string out;
    while (i < s.size()) {
      if (escaped && s[i] == '\\' && i + 1 < s.size() && s[i + 1] == q) {
        i += 2;
        return out;
      }
      if (!escaped && s[i] == q) {
        ++i;
        return out;
      }
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out += s[i++];
    }
    return std::nullopt;
  }
  std::string Word() {
    Space();
    size_t start = i;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' ||
                            s[i] == '.' || s[i] == '-'))
      ++i;
    return s.substr(start, i - start);
  }
  std::optional<json> Value() {
    if (auto q = Quoted()) return json(*q);
    std::string w = Word();
    if (AsciiLower(w) == "map") {
      json m = json::object();
      if (!Eat('(')) return std::nullopt;
      while (!Eat(')')) {
        auto k = Quoted();
        if (!k || !Eat(',')) return std::nullopt;
        auto v = Quoted();
        if (!v) return std::nullopt;
        m[*k] = *v;
        Eat(',');
      }
      return m;
    }
    if (AsciiLower(w) == "timestamp") {
      auto q = Quoted();
      if (!q) return std::nullopt;
      return json{{"timestamp", *q}};
    }
    if (w.empty()) return std::nullopt;
    return json(w);
  }
};

// The procedure name and its arguments (positional ones as "0", "1", ...); nullopt when
// `command` holds no CALL of a system procedure.
std::optional<std::pair<std::string, json>> ParseCall(const std::string& command) {
  const std::string lower = AsciiLower(command);
  size_t call = lower.find("call ");
  size_t sys = call == std::string::npos ? call : lower.find("system.", call);
  if (sys == std::string::npos) return std::nullopt;
  Parser p{command, sys + 7};
  std::string proc = AsciiLower(p.Word());
  if (!p.Eat('(')) return std::nullopt;
  json args = json::object();
  int pos = 0;
  while (!p.Eat(')')) {
    size_t save = p.i;
    std::string name = p.Word();
    p.Space();
    bool named = !name.empty() && p.s.compare(p.i, 2, "=>") == 0;
    if (named) {
      p.i += 2;
    } else {
      p.i = save;
      name = std::to_string(pos++);
    }
    auto v = p.Value();
    if (!v) return std::nullopt;
    args[AsciiLower(name)] = *v;
    if (!p.Eat(',') && !p.Eat(')')) return std::nullopt;
    if (p.s[p.i - 1] == ')') break;
  }
  return std::make_pair(proc, args);
}

std::optional<int64_t> TimestampMs(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &sec) < 3)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return int64_t{timegm(&tm)} * 1000;
}

// "col = 'v' and other = 3" -> {"col": "v", "other": 3}.
json WherePartition(const std::string& where) {
  json out = json::object();
  Parser p{where, 0};
  while (p.i < p.s.size()) {
    std::string col = p.Word();
    if (col.empty() || !p.Eat('=')) break;
    if (auto q = p.Quoted()) {
      out[col] = *q;
    } else {
      std::string w = p.Word();
      char* end = nullptr;
      long long n = std::strtoll(w.c_str(), &end, 10);
      out[col] = end && *end == '\0' && !w.empty() ? json(n) : json(w);
    }
    if (AsciiLower(p.Word()) != "and") break;
  }
  return out;
}

std::string Arg(const json& args, const char* name, const char* position) {
  json v = args.contains(name) ? args[name] : args.value(position, json());
  return v.is_string() ? v.get<std::string>() : "";
}

}  // namespace

std::optional<Status> Emulator::RunCommand(const std::string& command) {
  auto call = ParseCall(command);
  if (!call) return std::nullopt;
  const auto& [proc, args] = *call;
  if (proc != "rewrite_data_files" && proc != "remove_orphan_files") return std::nullopt;
  const std::string table = Arg(args, "table", "0");
  if (table.empty()) return InvalidError(proc + ": table is required");
  Result<json> r = [&, &proc = proc, &args = args]() -> Result<json> {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (proc == "rewrite_data_files") {
      json req = {{"table", table}};
      json options = args.value("options", json::object());
      for (auto [k, key] : {std::pair{"target-file-size-bytes", "target_file_size_bytes"},
                            std::pair{"min-input-files", "min_input_files"}}) {
        if (options.is_object() && options.contains(k))
          req[key] = std::strtoll(options[k].get<std::string>().c_str(), nullptr, 10);
      }
      if (!req.contains("target_file_size_bytes")) {
        auto t = impl_->FindTable(table);
        std::string p =
            t.ok() ? (*t)->metadata["properties"].value("write.target-file-size-bytes", "") : "";
        if (!p.empty()) req["target_file_size_bytes"] = std::strtoll(p.c_str(), nullptr, 10);
      }
      if (args.contains("where") && args["where"].is_string())
        req["partition"] = WherePartition(args["where"].get<std::string>());
      return impl_->Rewrite(req);
    }
    int64_t cutoff = impl_->Now() - int64_t{3} * 86400000;  // Spark's default: 3 days ago
    if (args.contains("older_than")) {
      const json& v = args["older_than"];
      std::string text = v.is_object()   ? v.value("timestamp", "")
                         : v.is_string() ? v.get<std::string>()
                                         : "";
      auto ms = TimestampMs(text);
      if (!ms) return InvalidError("remove_orphan_files: cannot read older_than '" + text + "'");
      cutoff = *ms;
    }
    json req = {{"table", table}, {"older_than_ms", cutoff}};
    if (AsciiLower(Arg(args, "dry_run", "")) == "true") req["dry_run"] = true;
    return impl_->RemoveOrphans(req);
  }();
  if (!r.ok()) return r.status();
  if (impl_->observer) impl_->observer();
  return Status::Ok();
}

}  // namespace converge::iceberg
