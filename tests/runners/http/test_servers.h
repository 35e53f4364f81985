#pragma once
// Test doubles for the openai runner: a fault-injecting HTTP server on 127.0.0.1 (plain POSIX
// sockets, a thread per connection: tests only) and a collecting completion sink.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "moebench/runner.h"

namespace moebench::testing {

// Serves each connection with a scripted handler. The handler gets the connected socket and
// the 0-based index of the request among all requests this server has seen.
class fault_server {
 public:
  struct connection {
    int fd;
    int index;
    fault_server& server;
    void send(std::string_view bytes) const {
      while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return;
        bytes.remove_prefix(static_cast<std::size_t>(n));
      }
    }
    // Sleeps until the server is destroyed or `d` passes.
    void sleep(std::chrono::milliseconds d) const { server.sleep_for(d); }
    // Closes with a TCP reset instead of a FIN.
    void reset() const {
      struct linger l {1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
  };
  using handler = std::function<void(const connection&)>;

  explicit fault_server(handler h) : handler_(std::move(h)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001u);
    a.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 128) != 0)
      std::abort();
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~fault_server() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    for (auto& t : workers_) t.join();
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int requests() const { return requests_.load(); }
  int max_concurrent() const { return max_concurrent_.load(); }
  std::string last_request() {
    std::lock_guard lock(mu_);
    return last_request_;
  }

  void sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return stop_; });
  }

  // Canned responses.
  static std::string sse_head() {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
  }
  static std::string event(const std::string& data) { return "data: " + data + "\n\n"; }
  static std::string text_chunk(const std::string& text, const char* finish = nullptr) {
    std::string f = finish ? std::string("\"") + finish + "\"" : "null";
    return event(R"({"id":"x","object":"text_completion","choices":[{"index":0,"text":")" + text +
                 R"(","finish_reason":)" + f + "}]}");
  }
  static std::string status(int code, const std::string& extra_headers, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(code) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
  }

 private:
  void accept_loop() {
    for (;;) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      if (stop_) {
        ::close(fd);
        return;
      }
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    // Read the request: headers, then Content-Length bytes of body.
    std::string req;
    char buf[8192];
    std::size_t body_at = std::string::npos, need = 0;
    while (true) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      req.append(buf, static_cast<std::size_t>(n));
      if (body_at == std::string::npos && (body_at = req.find("\r\n\r\n")) != std::string::npos) {
        body_at += 4;
        const auto cl = req.find("Content-Length: ");
        need = cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16));
      }
      if (body_at != std::string::npos && req.size() >= body_at + need) break;
    }
    const int index = requests_.fetch_add(1);
    const int now = concurrent_.fetch_add(1) + 1;
    for (int m = max_concurrent_.load(); now > m && !max_concurrent_.compare_exchange_weak(m, now);) {}
    {
      std::lock_guard lock(mu_);
      last_request_ = req;
    }
    handler_(connection{fd, index, *this});
    concurrent_.fetch_sub(1);
    ::close(fd);
  }

  handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
  std::string last_request_;
  std::atomic<int> requests_{0};
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};
};

// Collects every event; wait() bounds the time a test can hang.
class collect_sink final : public completion_sink {
 public:
  void on_chunk(uint64_t id, std::string_view text, int64_t tokens) override {
    std::lock_guard lock(mu_);
    auto& e = entries_[id];
    e.chunks.emplace_back(text);
    e.chunk_tokens += tokens;
    if (e.done) e.chunk_after_complete = true;
  }
  void on_complete(uint64_t id, completion c) override {
    std::lock_guard lock(mu_);
    auto& e = entries_[id];
    if (e.done) e.completed_twice = true;
    e.done = std::move(c);
    cv_.notify_all();
  }
  struct entry {
    std::vector<std::string> chunks;
    int64_t chunk_tokens = 0;
    std::optional<completion> done;
    bool chunk_after_complete = false;
    bool completed_twice = false;
  };
  // The completion of `id`; fails the test (and returns internal) after `timeout`.
  completion wait(uint64_t id, std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return entries_[id].done.has_value(); })) {
      ADD_FAILURE() << "request " << id << " did not complete within " << timeout.count() << " s";
      completion c;
      c.status = outcome::internal;
      return c;
    }
    return *entries_[id].done;
  }
  entry get(uint64_t id) {
    std::lock_guard lock(mu_);
    return entries_[id];
  }
  std::size_t completed() {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& [id, e] : entries_) n += e.done ? 1 : 0;
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, entry> entries_;
};

}  // namespace moebench::testing
