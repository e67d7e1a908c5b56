// In-process server tests (run under ASan+UBSan too): sync and async handlers, handler
// exceptions, pipelining and programmatic graceful shutdown, over real loopback sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "http/http.h"

namespace {

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads until `count` complete Content-Length-framed responses have arrived.
std::vector<std::string> read_responses(int fd, size_t count) {
  std::string buf;
  std::vector<std::string> out;
  char tmp[4096];
  while (out.size() < count) {
    const size_t head_end = buf.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const size_t cl = buf.find("Content-Length: ");
      const size_t len = std::stoul(buf.substr(cl + 16));
      if (buf.size() >= head_end + 4 + len) {
        out.push_back(buf.substr(0, head_end + 4 + len));
        buf.erase(0, head_end + 4 + len);
        continue;
      }
    }
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
  }
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::set_log_fd(-1);
    http::ServerConfig cfg;
    cfg.port = 0;
    cfg.threads = 2;
    cfg.auth = false;
    server_ = std::make_unique<http::Server>(cfg);
    auto& r = server_->router();
    r.add("GET", "/sync", http::Scope::kPublic, http::BodyPolicy::kNone,
          [](http::Request& req, http::Response& res) {
            res.body = "{\"rid\":\"" + std::string(req.request_id) + "\"}";
            return core::ok();
          });
    r.add("POST", "/echo", http::Scope::kPublic, http::BodyPolicy::kJsonRequired,
          [](http::Request& req, http::Response& res) -> core::Status {
            LS_ASSIGN_OR_RETURN(auto el, http::parse_json_body(req));
            res.body = simdjson::minify(el);
            return core::ok();
          });
    r.add_async("GET", "/async", http::Scope::kPublic, http::BodyPolicy::kNone,
                [](http::Request&, http::Responder responder) {
                  std::thread([rsp = std::move(responder)]() mutable {
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                    http::Response res;
                    res.body = R"({"async":true})";
                    rsp.send(std::move(res));
                  }).detach();
                });
    r.add_async("GET", "/dropped", http::Scope::kPublic, http::BodyPolicy::kNone,
                [](http::Request&, http::Responder) {});
    r.add("GET", "/throws", http::Scope::kPublic, http::BodyPolicy::kNone,
          [](http::Request&, http::Response&) -> core::Status {
            throw std::runtime_error("boom");
          });
    auto port = server_->listen();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { rc_ = server_->run(); });
  }

  void TearDown() override {
    server_->shutdown();
    thread_.join();
    EXPECT_EQ(rc_, 0);
    server_.reset();
    http::set_log_fd(2);
  }

  std::string get(std::string_view req) {
    const int fd = connect_to(port_);
    EXPECT_GE(fd, 0);
    send_all(fd, req);
    auto r = read_responses(fd, 1);
    ::close(fd);
    return r.empty() ? std::string() : r[0];
  }

  std::unique_ptr<http::Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  int rc_ = -1;
};

TEST_F(ServerTest, SyncHandlerSeesRequestId) {
  const auto r = get("GET /sync HTTP/1.1\r\nHost: x\r\nX-Request-Id: r-1\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(r.find("{\"rid\":\"r-1\"}"), std::string::npos);
}

TEST_F(ServerTest, JsonBodyParsedWithPadding) {
  const std::string body = R"({"a": [1, 2, {"b": "c"}]})";
  const auto r = get("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_NE(r.find(R"({"a":[1,2,{"b":"c"}]})"), std::string::npos) << r;
}

TEST_F(ServerTest, AsyncHandlerAnswersFromAnotherThread) {
  const int fd = connect_to(port_);
  // Pipelined: the async answer comes first, in order.
  send_all(fd, "GET /async HTTP/1.1\r\nHost: x\r\n\r\nGET /sync HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = read_responses(fd, 2);
  ::close(fd);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NE(r[0].find(R"({"async":true})"), std::string::npos);
  EXPECT_NE(r[1].find("rid"), std::string::npos);
}

TEST_F(ServerTest, UnansweredAsyncRequestGets500) {
  const auto r = get("GET /dropped HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 500"), std::string::npos);
  EXPECT_NE(r.find("\"internal\""), std::string::npos);
}

TEST_F(ServerTest, HandlerExceptionIs500AndServerLives) {
  EXPECT_NE(get("GET /throws HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 500"),
            std::string::npos);
  EXPECT_NE(get("GET /sync HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(ServerTest, EmptyJsonBodyIs400) {
  const auto r = get("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 0\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos);
  EXPECT_NE(r.find("invalid_json"), std::string::npos);
}

TEST_F(ServerTest, MetricsCountRequests) {
  get("GET /sync HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto text = server_->metrics().render();
  EXPECT_NE(text.find(R"(leadscore_http_requests_total{route="/sync",method="GET",status="200"} 1)"),
            std::string::npos)
      << text;
}

}  // namespace
