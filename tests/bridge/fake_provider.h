// FakeProvider: a push provider for tests, an HTTPS server (cpp-httplib) on 127.0.0.1 with a self-signed
// certificate made at start; it records every request and answers as scripted (statuses, delays, dead tokens).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class SSLServer;
}

namespace chat::harness {

// One scripted answer: {500}, {504, 1500} (answered after 1.5 s), {401, 0, "{...}"}, {429, 0, "", 3}.
struct ProviderStep {
  ProviderStep(int status = 200, int delay_ms = 0, std::string body = "", int retry_after_s = -1)  // NOLINT
      : status(status), delay_ms(delay_ms), body(std::move(body)), retry_after_s(retry_after_s) {}

  int status;
  int delay_ms;       // wait this long before answering (longer than the client's timeout: a timeout)
  std::string body;   // "" = {"name":"accepted"} for 2xx, {"error":"scripted <status>"} otherwise
  int retry_after_s;  // >= 0 adds "Retry-After: <s>"
};

struct RecordedRequest {
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  nlohmann::json json;  // discarded value when the body is not JSON
  int status = 0;       // what the fake answered (or is about to, after a delay)
  std::string token() const { return json.is_object() ? json.value("token", "") : ""; }
  std::string header(const std::string& lower_case_name) const;
};

class FakeProvider {
 public:
  FakeProvider();
  ~FakeProvider();  // Stop() and remove the temporary folder
  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  // Makes a temporary folder, a key and a self-signed certificate for 127.0.0.1 there (openssl req), and
  // starts serving on a free loopback port. "" or the error.
  std::string Start();
  void Stop();

  int port() const { return port_; }
  // https://127.0.0.1:<port><path>; any path is served (POST), so one fake can play every provider.
  std::string url(const std::string& path = "/push") const;
  // The certificate, to give the client as its CA file.
  std::string ca_file() const { return dir_ + "/cert.pem"; }

  // Answers for the next requests of any token without a script of its own, in order; afterwards 200.
  void Script(std::vector<ProviderStep> steps);
  // Answers for the next requests carrying `token`; an empty list removes the token's script.
  void ScriptToken(const std::string& token, std::vector<ProviderStep> steps);
  // Every request for `token` answers `status` with `body` (a dead token), after its script if any.
  void SetInvalidToken(const std::string& token, int status = 410, std::string body = R"({"error":"invalid_token"})");

  std::vector<RecordedRequest> requests() const;
  std::vector<RecordedRequest> RequestsForToken(const std::string& token) const;
  // Requests answered 2xx, in total or for one token.
  std::size_t accepted() const;
  std::size_t AcceptedForToken(const std::string& token) const;
  // Waits (bounded) until at least `count` requests have arrived.
  bool WaitForRequests(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Waits until `predicate` holds for the recorded requests.
  bool WaitUntil(const std::function<bool(const std::vector<RecordedRequest>&)>& predicate,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  ProviderStep NextStep(const std::string& token);

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  std::atomic<bool> finished_{false};

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<ProviderStep> script_;
  std::map<std::string, std::deque<ProviderStep>> token_scripts_;
  std::map<std::string, ProviderStep> invalid_tokens_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace chat::harness
