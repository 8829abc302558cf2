#include "tests/common/fake_transport.h"

#include <optional>

namespace converge::test {

http::Response Answer(int status, std::string body, std::map<std::string, std::string> headers) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

Status ReplyLost() {
  return UnavailableError("connection reset by peer after the request was sent");
}

Result<http::Response> FakeTransport::RoundTrip(const http::Request& request) {
  Handler handler;
  bool drop = false;
  std::optional<Result<http::Response>> scripted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(request);
    if (drop_times_ > 0 && drop_match_ && drop_match_(request)) {
      --drop_times_;
      ++dropped_;
      drop = true;
    }
    if (!script_.empty()) {
      scripted.emplace(std::move(script_.front()));
      script_.pop_front();
    } else {
      handler = handler_;
    }
  }
  // The handler runs outside the lock: it may be slow or call back into the test.
  Result<http::Response> answer = scripted ? std::move(*scripted)
                                  : handler
                                      ? handler(request)
                                      : Result<http::Response>(InternalError("script exhausted"));
  if (drop) return ReplyLost();
  return answer;
}

void FakeTransport::Script(std::vector<Result<http::Response>> results) {
  std::lock_guard<std::mutex> lock(mu_);
  script_.clear();
  for (auto& r : results) script_.push_back(std::move(r));
}

void FakeTransport::Push(Result<http::Response> result) {
  std::lock_guard<std::mutex> lock(mu_);
  script_.push_back(std::move(result));
}

void FakeTransport::SetHandler(Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

void FakeTransport::DropRepliesAfterSending(Match match, int times) {
  std::lock_guard<std::mutex> lock(mu_);
  drop_match_ = std::move(match);
  drop_times_ = times;
}

std::vector<http::Request> FakeTransport::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

http::Request FakeTransport::request(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return i < seen_.size() ? seen_[i]
                          : http::Request{"<none>", "<no request " + std::to_string(i) + ">"};
}

size_t FakeTransport::request_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.size();
}

void FakeTransport::ClearRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  seen_.clear();
}

size_t FakeTransport::remaining() const {
  std::lock_guard<std::mutex> lock(mu_);
  return script_.size();
}

int FakeTransport::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

namespace {

class Borrowed : public http::Transport {
 public:
  explicit Borrowed(FakeTransport* to) : to_(to) {}
  Result<http::Response> RoundTrip(const http::Request& request) override {
    return to_->RoundTrip(request);
  }

 private:
  FakeTransport* to_;
};

}  // namespace

std::unique_ptr<http::Transport> FakeTransport::Borrow() {
  return std::make_unique<Borrowed>(this);
}

}  // namespace converge::test
