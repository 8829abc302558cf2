// Errors as values. No exceptions cross a module boundary: functions that can fail return a
// Status or a Result<T>. A Status carries a Code; kInvalid and kTerminal are never retried.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace converge {

enum class Code {
  kOk,
  kInvalid,      // bad input (spec, flag, request body rejected by a backend): terminal
  kNotFound,     // the object does not exist
  kConflict,     // the backend refused because of concurrent state (e.g. a running deployment)
  kUnavailable,  // connection error, 5xx, throttling: retryable
  kTimeout,      // a deadline passed
  kPermission,   // 401 / 403
  kStale,        // a saved plan no longer matches live state
  kLocked,       // another converge holds the state directory
  kInternal,     // a bug or an unexpected answer
  kCancelled,    // converge is stopping (SIGTERM): the step was cut short, not failed
  // A write was sent but its outcome is not known (the reply was lost, a timeout after sending,
  // a 500/502/504 to a non-idempotent call): the object must be read back before anything else.
  kUnknownOutcome,
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }
  // A failure that certainly happened before anything reached the server (DNS, connection
  // refused, connect timeout): any request, even a write, may be repeated.
  static Status NothingSent(Code code, std::string message) {
    Status s(code, std::move(message));
    s.nothing_sent_ = true;
    return s;
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // A terminal error is one that retrying cannot fix.
  bool terminal() const {
    return code_ == Code::kInvalid || code_ == Code::kPermission || code_ == Code::kStale;
  }
  bool nothing_sent() const { return nothing_sent_; }
  std::string ToString() const;
  // Returns a copy with `context: ` prepended to the message.
  Status Annotate(const std::string& context) const {
    if (ok()) return *this;
    Status s(code_, context + ": " + message_);
    s.nothing_sent_ = nothing_sent_;
    return s;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
  bool nothing_sent_ = false;
};

inline Status InvalidError(std::string m) { return Status(Code::kInvalid, std::move(m)); }
inline Status NotFoundError(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status InternalError(std::string m) { return Status(Code::kInternal, std::move(m)); }
inline Status UnavailableError(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
inline Status TimeoutError(std::string m) { return Status(Code::kTimeout, std::move(m)); }
inline Status CancelledError(std::string m) { return Status(Code::kCancelled, std::move(m)); }
inline Status UnknownOutcomeError(std::string m) {
  return Status(Code::kUnknownOutcome, std::move(m));
}

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace converge

#define CONVERGE_RETURN_IF_ERROR(expr)      \
  do {                                      \
    ::converge::Status _st = (expr);        \
    if (!_st.ok()) return _st;              \
  } while (0)
