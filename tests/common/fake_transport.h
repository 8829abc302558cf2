// The one fake http::Transport every unit test uses. It answers each attempt from a script
// (results in order: a Response, or an error Status such as a connection reset), then from a
// handler when the script is used up (an emulator-like responder), and records every request
// it saw. A drop rule makes it lose replies "after sending": the request is answered — the
// script entry or handler runs, so the server carried it out — but the caller gets a connection
// error instead of the reply, which is how a write ends up with an unknown outcome.
// Thread-safe. The client under test owns a Transport, so tests keep the FakeTransport and hand
// the client Borrow(), a forwarding transport (the FakeTransport must outlive it).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reconcilers/common/http.h"

namespace converge::test {

// An HTTP answer for scripts.
http::Response Answer(int status, std::string body = "",
                      std::map<std::string, std::string> headers = {});

// The error a transport returns when the connection dropped after the request was sent.
Status ReplyLost();

class FakeTransport : public http::Transport {
 public:
  using Handler = std::function<Result<http::Response>(const http::Request&)>;
  using Match = std::function<bool(const http::Request&)>;

  Result<http::Response> RoundTrip(const http::Request& request) override;

  // Replaces the script: one result per attempt, in order.
  void Script(std::vector<Result<http::Response>> results);
  void Push(Result<http::Response> result);
  // Answers attempts once the script is used up. Without one, an attempt past the end of the
  // script is an kInternal "script exhausted" error.
  void SetHandler(Handler handler);
  // The next `times` requests that `match` accepts are carried out (script or handler) and
  // their replies dropped: the caller gets ReplyLost().
  void DropRepliesAfterSending(Match match, int times = 1);

  // What was sent, oldest first (copies: the transport may be in use on other threads).
  std::vector<http::Request> requests() const;
  http::Request request(size_t i) const;
  size_t request_count() const;
  void ClearRequests();
  // Script entries not used yet; replies dropped so far.
  size_t remaining() const;
  int dropped() const;

  // A Transport for the client under test that forwards to this one.
  std::unique_ptr<http::Transport> Borrow();

 private:
  mutable std::mutex mu_;
  std::deque<Result<http::Response>> script_;
  Handler handler_;
  Match drop_match_;
  int drop_times_ = 0;
  int dropped_ = 0;
  std::vector<http::Request> seen_;
};

}  // namespace converge::test
