#pragma once
// A real redis-server for one test: ephemeral loopback port, temp dir, no persistence.
// Also a silent TCP listener (accepts connections, never answers) for timeout tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <hiredis.h>

namespace cache_test {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// A socket bound to 127.0.0.1:0 and listening; returns its fd and port.
inline int listen_ephemeral(int& port, int backlog = 128) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, backlog) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("cannot open a loopback listener");
  }
  port = ntohs(a.sin_port);
  return fd;
}

inline int free_port() {
  int port = 0;
  ::close(listen_ephemeral(port));
  return port;
}

class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra_args = {}, std::string password = {})
      : extra_(std::move(extra_args)), password_(std::move(password)) {
    char tmpl[] = "/tmp/ls-redis-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    port_ = free_port();
    start();
  }
  ~RedisServer() {
    kill9();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url(std::string_view credentials = {}, int db = 0) const {
    std::string u = "redis://";
    if (!credentials.empty()) u += std::string(credentials) + "@";
    u += "127.0.0.1:" + std::to_string(port_);
    if (db != 0) u += "/" + std::to_string(db);
    return u;
  }

  void start() {
    std::vector<std::string> args = {"redis-server", "--port", std::to_string(port_),
                                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                     "--dir", dir_.string()};
    if (!password_.empty()) args.insert(args.end(), {"--requirepass", password_});
    args.insert(args.end(), extra_.begin(), extra_.end());
    // Everything the child needs is built before fork (no allocation in the child).
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = (dir_ / "redis.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Die with the test: a crashed or aborted test must not leave a server behind (nor
      // keep ctest's output pipes open).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (!std::freopen(log.c_str(), "a", stdout) || !std::freopen(log.c_str(), "a", stderr)) {
        std::_Exit(126);
      }
      ::execvp("redis-server", argv.data());
      std::_Exit(127);
    }
    wait_ready();
  }

  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // An admin connection (authenticated as the default user).
  std::unique_ptr<redisContext, void (*)(redisContext*)> admin() const {
    timeval tv{2, 0};
    std::unique_ptr<redisContext, void (*)(redisContext*)> c(
        redisConnectWithTimeout("127.0.0.1", port_, tv), redisFree);
    if (!c || c->err) throw std::runtime_error("admin connection failed");
    redisSetTimeout(c.get(), tv);
    if (!password_.empty()) {
      Reply r(static_cast<redisReply*>(redisCommand(c.get(), "AUTH %s", password_.c_str())));
      if (!r || r->type == REDIS_REPLY_ERROR) throw std::runtime_error("admin AUTH failed");
    }
    return c;
  }

 private:
  void wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      timeval tv{0, 200000};
      redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
      if (c != nullptr && c->err == 0) {
        redisSetTimeout(c, tv);
        Reply r(static_cast<redisReply*>(redisCommand(c, "PING")));
        redisFree(c);
        if (r) return;  // PONG, or NOAUTH when a password is set: either way it is up
      } else if (c != nullptr) {
        redisFree(c);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    throw std::runtime_error("redis-server did not answer PING within 10 s");
  }

  std::vector<std::string> extra_;
  std::string password_;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace cache_test
