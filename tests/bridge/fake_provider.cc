// The fake push provider: certificate generation with the openssl tool, an httplib::SSLServer that
// records each request before answering it, and the scripted answers.
#include "tests/bridge/fake_provider.h"

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace chat::harness {
namespace {

// Runs a program (no shell) with its output in `log_path`; returns its exit status, or -1.
int Run(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::FILE* log = std::fopen(log_path.c_str(), "w");
    if (log != nullptr) {
      dup2(fileno(log), STDOUT_FILENO);
      dup2(fileno(log), STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string RecordedRequest::header(const std::string& lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? "" : it->second;
}

FakeProvider::FakeProvider() {
  char pattern[] = "/tmp/chat-fake-provider-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  dir_ = pattern;
}

FakeProvider::~FakeProvider() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string FakeProvider::Start() {
  // A client that times out closes its socket while a delayed answer is still to be written.
  signal(SIGPIPE, SIG_IGN);
  std::string key = dir_ + "/key.pem";
  int status = Run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", ca_file()},
                   dir_ + "/openssl.log");
  if (status != 0) return "openssl req failed (status " + std::to_string(status) + "), see " + dir_ + "/openssl.log";

  server_ = std::make_unique<httplib::SSLServer>(ca_file().c_str(), key.c_str());
  if (!server_->is_valid()) return "httplib::SSLServer cannot use the generated certificate";
  server_->Post(R"(/.*)", [this](const httplib::Request& request, httplib::Response& response) {
    RecordedRequest recorded;
    recorded.path = request.path;
    for (const auto& [name, value] : request.headers) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      recorded.headers[lower] = value;
    }
    recorded.body = request.body;
    recorded.json = nlohmann::json::parse(request.body, nullptr, false);
    ProviderStep step = NextStep(recorded.token());
    recorded.status = step.status;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(recorded);
    }
    changed_.notify_all();
    if (step.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(step.delay_ms));
    std::string body = step.body;
    if (body.empty()) {
      body = step.status >= 200 && step.status < 300 ? R"({"name":"accepted"})"
                                                     : R"({"error":"scripted )" + std::to_string(step.status) + "\"}";
    }
    if (step.retry_after_s >= 0) response.set_header("Retry-After", std::to_string(step.retry_after_s));
    response.status = step.status;
    response.set_content(body, "application/json");
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return "cannot bind a loopback port";
  finished_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    finished_ = true;
  });
  return "";
}

void FakeProvider::Stop() {
  // httplib ignores stop() until its loop runs: repeat until the loop is over.
  while (thread_.joinable() && !finished_) {
    server_->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

std::string FakeProvider::url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(port_) + path;
}

void FakeProvider::Script(std::vector<ProviderStep> steps) {
  std::lock_guard<std::mutex> lock(mutex_);
  script_.assign(steps.begin(), steps.end());
}

void FakeProvider::ScriptToken(const std::string& token, std::vector<ProviderStep> steps) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (steps.empty()) {
    token_scripts_.erase(token);
  } else {
    token_scripts_[token].assign(steps.begin(), steps.end());
  }
}

void FakeProvider::SetInvalidToken(const std::string& token, int status, std::string body) {
  std::lock_guard<std::mutex> lock(mutex_);
  invalid_tokens_[token] = ProviderStep(status, 0, std::move(body));
}

ProviderStep FakeProvider::NextStep(const std::string& token) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = token_scripts_.find(token); it != token_scripts_.end() && !it->second.empty()) {
    ProviderStep step = it->second.front();
    it->second.pop_front();
    return step;
  }
  if (auto it = invalid_tokens_.find(token); it != invalid_tokens_.end()) return it->second;
  if (!script_.empty()) {
    ProviderStep step = script_.front();
    script_.pop_front();
    return step;
  }
  return ProviderStep{};
}

std::vector<RecordedRequest> FakeProvider::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

std::vector<RecordedRequest> FakeProvider::RequestsForToken(const std::string& token) const {
  std::vector<RecordedRequest> out;
  for (const RecordedRequest& r : requests()) {
    if (r.token() == token) out.push_back(r);
  }
  return out;
}

std::size_t FakeProvider::accepted() const {
  std::size_t n = 0;
  for (const RecordedRequest& r : requests()) n += r.status >= 200 && r.status < 300 ? 1 : 0;
  return n;
}

std::size_t FakeProvider::AcceptedForToken(const std::string& token) const {
  std::size_t n = 0;
  for (const RecordedRequest& r : RequestsForToken(token)) n += r.status >= 200 && r.status < 300 ? 1 : 0;
  return n;
}

bool FakeProvider::WaitForRequests(std::size_t count, std::chrono::milliseconds timeout) const {
  return WaitUntil([count](const std::vector<RecordedRequest>& all) { return all.size() >= count; }, timeout);
}

bool FakeProvider::WaitUntil(const std::function<bool(const std::vector<RecordedRequest>&)>& predicate,
                             std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return predicate(requests_); });
}

}  // namespace chat::harness
