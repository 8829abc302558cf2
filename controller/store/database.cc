#include "controller/store/database.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "specs/base/clock.h"

namespace converge::store {

std::string Now() {
  return FormatIsoTime(std::chrono::system_clock::now());
}

std::string OrNow(const std::string& t) {
  return t.empty() ? Now() : t;
}

Status SqliteStatus(sqlite3* db, int rc, const std::string& what) {
  // The connection's message is more specific ("UNIQUE constraint failed: ...") when it is about
  // this error.
  bool specific = db != nullptr && sqlite3_extended_errcode(db) == rc;
  std::string message =
      "state store: " + what + ": " + (specific ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(message);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return NotFoundError(message);
      return InvalidError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return Status(Code::kPermission, message);
    default:
      return InternalError(message);
  }
}

Status ErrnoStatus(const std::string& what, int err) {
  std::string message = what + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM) return Status(Code::kPermission, message);
  return InternalError(message);
}

Status EnsureDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "state/" names "state"
  if (std::filesystem::is_directory(p, ec)) return Status::Ok();
  if (!p.parent_path().empty()) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return InternalError("cannot create " + p.parent_path().string() + ": " + ec.message());
  }
  if (mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("cannot create directory " + dir, errno);
  }
  if (!std::filesystem::is_directory(p, ec)) return InvalidError(dir + " is not a directory");
  return Status::Ok();
}

std::string DumpJson(const json& doc, int indent) {
  return doc.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace converge::store
