// The real libcurl transport against a local cpp-httplib server on an ephemeral port.
//
// Needs cpp-httplib in the http_tests binary (see the lead's CMake note); it is named *_itest.cc
// so the *_test.cc glob does not pick it up before that link line exists. testdata/localhost.*
// is a throwaway self-signed certificate for localhost/127.0.0.1, made for these tests only.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "reconcilers/common/http.h"

namespace converge::http {
namespace {

using std::chrono::milliseconds;

const std::string kTestData = std::string(CONVERGE_SOURCE_DIR) + "/tests/unit/http/testdata";

Request Make(const std::string& method, const std::string& url, const std::string& body = "") {
  Request r;
  r.method = method;
  r.url = url;
  r.body = body;
  return r;
}

// A port nobody listens on: bound (never listened) and closed again.
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot bind a probe socket";
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Runs an httplib server (plain or TLS) on 127.0.0.1:<ephemeral> for the life of the object.
class LocalServer {
 public:
  explicit LocalServer(std::unique_ptr<httplib::Server> server) : server_(std::move(server)) {
    server_->set_tcp_nodelay(true);  // otherwise Nagle + delayed ACK add 40ms per request
  }
  ~LocalServer() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Server& server() { return *server_; }
  void Start() {
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  std::string Url(const std::string& scheme, const std::string& path) const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    httplib::Server& s = plain_.server();
    s.Get("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      ports_.insert(req.remote_port);
      res.set_header("X-Custom-Header", "Mixed Case Value");
      res.set_content("method=" + req.method + " auth=" + req.get_header_value("Authorization"),
                      "text/plain");
    });
    auto echo_body = [this](const httplib::Request& req, httplib::Response& res) {
      ports_.insert(req.remote_port);
      res.status = req.method == "POST" ? 201 : 200;
      res.set_content(
          req.method + ":" + req.body + ":len=" + req.get_header_value("Content-Length"),
          "text/plain");
    };
    s.Post("/echo", echo_body);
    s.Put("/echo", echo_body);
    s.Patch("/echo", echo_body);
    s.Delete("/echo", echo_body);
    s.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(milliseconds(1000));
      res.set_content("late", "text/plain");
    });
    // 256 KiB in 4 KiB pieces; the first request is cut off after half of it.
    s.Get("/big", [this](const httplib::Request&, httplib::Response& res) {
      const bool cut = big_requests_++ == 0 && cut_first_big_;
      res.set_content_provider(
          kBigBytes, "text/plain",
          [cut](size_t offset, size_t, httplib::DataSink& sink) {
            if (cut && offset >= kBigBytes / 2) return false;  // drops the connection
            std::string piece(4096, static_cast<char>('a' + (offset / 4096) % 26));
            sink.write(piece.data(), piece.size());
            return true;
          });
    });
    s.Get("/unavailable", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_header("Retry-After", "0");
    });
    plain_.Start();
  }

  static constexpr size_t kBigBytes = 256 * 1024;
  LocalServer plain_{std::make_unique<httplib::Server>()};
  std::multiset<int> ports_;
  std::atomic<int> big_requests_{0};
  bool cut_first_big_ = false;
};

// What a BodyStream received.
struct Streamed {
  int begins = 0;
  int chunks = 0;
  std::string body;
  BodyStream stream{[this] {
                      ++begins;
                      body.clear();
                    },
                    [this](std::string_view c) {
                      ++chunks;
                      body.append(c);
                    }};
};

std::string BigBody() {
  std::string b;
  for (size_t off = 0; off < 256 * 1024; off += 4096)
    b += std::string(4096, static_cast<char>('a' + (off / 4096) % 26));
  return b;
}

TEST_F(CurlTransportTest, StreamsATwoHundredAnswerAsItArrives) {
  auto transport = NewCurlTransport({});
  Streamed got;
  Request req = Make("GET", plain_.Url("http", "/big"));
  req.stream = &got.stream;
  Result<Response> r = transport->RoundTrip(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->streamed);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(got.begins, 1);
  EXPECT_GT(got.chunks, 1);  // pieces, not one buffer
  EXPECT_EQ(got.body, BigBody());
}

TEST_F(CurlTransportTest, AnErrorAnswerIsBufferedNotStreamed) {
  auto transport = NewCurlTransport({});
  Streamed got;
  Request req = Make("GET", plain_.Url("http", "/nope"));
  req.stream = &got.stream;
  Result<Response> r = transport->RoundTrip(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(r->streamed);
  EXPECT_EQ(got.begins, 0);
}

TEST_F(CurlTransportTest, ARetryAfterACutOffBodyStreamsItAgainFromTheStart) {
  cut_first_big_ = true;
  RetryPolicy policy;
  policy.base_delay = milliseconds(1);
  Client client(NewCurlTransport({}), policy, SystemClock(), 1);
  Streamed got;
  Request req = Make("GET", plain_.Url("http", "/big"));
  req.stream = &got.stream;
  Result<Response> r = client.Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(client.stats().retries.load(), 1);
  EXPECT_EQ(got.begins, 2);  // the second attempt began again
  EXPECT_EQ(got.body, BigBody());
}

TEST_F(CurlTransportTest, ReusesTheConnectionAndLowerCasesHeaders) {
  auto transport = NewCurlTransport({});
  for (int i = 0; i < 3; ++i) {
    Request req = Make("GET", plain_.Url("http", "/echo"));
    req.headers = {{"Authorization", "Bearer abc"}};
    Result<Response> r = transport->RoundTrip(req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "method=GET auth=Bearer abc");
    EXPECT_EQ(r->Header("x-custom-header"), "Mixed Case Value");
    EXPECT_EQ(r->Header("content-type"), "text/plain");
    EXPECT_EQ(r->headers.count("X-Custom-Header"), 0u);
  }
  ASSERT_EQ(ports_.size(), 3u);
  // Every request came from the same client socket: the connection was kept alive.
  EXPECT_EQ(std::set<int>(ports_.begin(), ports_.end()).size(), 1u);
}

TEST_F(CurlTransportTest, SendsAnyMethodWithBody) {
  auto transport = NewCurlTransport({});
  struct Case {
    std::string method, body, want;
    int status;
  };
  for (const Case& c :
       {Case{"POST", R"({"id":"/a"})", R"(POST:{"id":"/a"}:len=11)", 201},
        Case{"PUT", "{}", "PUT:{}:len=2", 200}, Case{"PUT", "", "PUT::len=0", 200},
        Case{"PATCH", "x", "PATCH:x:len=1", 200}, Case{"DELETE", "", "DELETE::len=", 200}}) {
    Result<Response> r = transport->RoundTrip(Make(c.method, plain_.Url("http", "/echo"), c.body));
    ASSERT_TRUE(r.ok()) << c.method << ": " << r.status().ToString();
    EXPECT_EQ(r->status, c.status) << c.method;
    EXPECT_EQ(r->body, c.want);
  }
  Result<Response> head = transport->RoundTrip(Make("HEAD", plain_.Url("http", "/echo")));
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
}

TEST_F(CurlTransportTest, HonoursRequestTimeout) {
  TransportOptions options;
  options.request_timeout = milliseconds(200);
  auto transport = NewCurlTransport(options);
  auto start = std::chrono::steady_clock::now();
  Result<Response> r = transport->RoundTrip(Make("GET", plain_.Url("http", "/slow")));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTimeout) << r.status().ToString();
  EXPECT_FALSE(IsConnectError(r.status())) << "the request was sent: retrying is ambiguous";
  EXPECT_LT(elapsed, milliseconds(800));
}

TEST_F(CurlTransportTest, ConnectionRefusedIsAConnectErrorWithoutSecrets) {
  int port = UnusedPort();
  auto transport = NewCurlTransport({});
  Request req =
      Make("POST", "http://user:pw@127.0.0.1:" + std::to_string(port) + "/v2/apps", "secret-body");
  req.headers = {{"Authorization", "Bearer secret-token"}};
  Result<Response> r = transport->RoundTrip(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_TRUE(IsConnectError(r.status())) << r.status().ToString();
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("POST http://127.0.0.1:"), std::string::npos) << m;
  for (const char* secret : {"secret-token", "secret-body", "pw@"}) {
    EXPECT_EQ(m.find(secret), std::string::npos) << m;
  }
}

TEST_F(CurlTransportTest, ClientRetriesThroughRealTransport) {
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.base_delay = milliseconds(1);
  Client client(NewCurlTransport({}), policy, SystemClock(), 1);
  Result<Response> r = client.Send(Make("GET", plain_.Url("http", "/unavailable")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(client.stats().requests.load(), 3);
  EXPECT_EQ(client.stats().retries.load(), 2);
}

class CurlTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tls_.server().Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello over tls", "text/plain");
    });
    tls_.Start();
  }
  LocalServer tls_{std::make_unique<httplib::SSLServer>((kTestData + "/localhost.crt").c_str(),
                                                        (kTestData + "/localhost.key").c_str())};
};

TEST_F(CurlTlsTest, VerifiesCertificatesByDefault) {
  auto transport = NewCurlTransport({});
  Result<Response> r = transport->RoundTrip(Make("GET", tls_.Url("https", "/hello")));
  ASSERT_FALSE(r.ok()) << "a self-signed certificate must not be trusted by default";
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
}

TEST_F(CurlTlsTest, TrustsTheConfiguredCaFile) {
  TransportOptions options;
  options.tls.ca_file = kTestData + "/localhost.crt";
  auto transport = NewCurlTransport(options);
  Result<Response> r = transport->RoundTrip(Make("GET", tls_.Url("https", "/hello")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello over tls");
}

TEST_F(CurlTlsTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  TransportOptions options;
  options.tls.insecure_skip_verify = true;
  auto transport = NewCurlTransport(options);
  Result<Response> r = transport->RoundTrip(Make("GET", tls_.Url("https", "/hello")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace converge::http
