// The TLS listeners with the real broker: certificates from scripts/make-test-certs.sh, Paho clients that
// verify the server. A verified client chats with a plain one; plain MQTT on the TLS port, a client that
// trusts another CA, and (with client certificates required) a client without one all fail.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "harness/broker_process.h"
#include "harness/child_process.h"
#include "tests/harness/test_client.h"

namespace chat::harness {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Makes a CA with a server and a client certificate in `dir`; "" or the error.
std::string MakeCerts(const std::string& dir) {
  std::string script = SourceConfigDir() + "/../scripts/make-test-certs.sh";
  std::string command = "bash " + script + " " + dir + " >/dev/null";
  return std::system(command.c_str()) == 0 ? "" : "make-test-certs.sh failed";
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = std::filesystem::temp_directory_path() / ("chat-tls-" + std::to_string(getpid()));
    ASSERT_EQ(MakeCerts(certs_ + "/ours"), "");
    ASSERT_EQ(MakeCerts(certs_ + "/other"), "");
  }
  void TearDown() override {
    broker_.reset();
    std::filesystem::remove_all(certs_);
  }

  void StartBroker(bool require_client_certificates) {
    tls_port_ = FreeLoopbackPort();
    std::string ours = certs_ + "/ours";
    std::string yaml = "tls:\n  address: 127.0.0.1\n  mqtt_port: " + std::to_string(tls_port_) +
                       "\n  websockets_port: " + std::to_string(FreeLoopbackPort()) + "\n  cert_file: " + ours +
                       "/server.crt\n  key_file: " + ours + "/server.key\n";
    if (require_client_certificates) yaml += "  client_ca_file: " + ours + "/ca.crt\n";
    broker_ = std::make_unique<BrokerProcess>(BrokerOptions{.extra_yaml = yaml});
    for (const char* user : {"alice", "bob"}) ASSERT_EQ(broker_->AddUserOffline(user, "pw-" + std::string(user)), "");
    ASSERT_EQ(broker_->AddUserOffline("root", "pw-root", /*is_admin=*/true), "");
    ASSERT_EQ(broker_->Start(), "");
  }

  // By address, not "localhost": that may name ::1 first, where the listener is not (a fresh Debian
  // container did so); the certificate names 127.0.0.1 too.
  std::string TlsUri() const { return "ssl://127.0.0.1:" + std::to_string(tls_port_); }

  std::string certs_;
  int tls_port_ = 0;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(TlsTest, AVerifyingClientChatsOverTlsWithAPlainOne) {
  StartBroker(/*require_client_certificates=*/false);
  ChatTestClient alice(TlsUri(), "alice", "phone");
  alice.set_tls(certs_ + "/ours/ca.crt");
  ASSERT_EQ(alice.Connect("pw-alice"), "");
  ASSERT_TRUE(alice.SubscribeOwn());
  ChatTestClient bob(broker_->mqtt_uri(), "bob", "phone");
  ASSERT_EQ(bob.Connect("pw-bob"), "");
  ASSERT_TRUE(bob.SubscribeOwn());

  EXPECT_EQ(alice.Send("bob", "over tls", "t1"), 0);
  EXPECT_TRUE(alice.WaitForType("ack"));
  EXPECT_TRUE(bob.WaitFor([](const Received& r) { return r.json.value("text", "") == "over tls"; }));
  EXPECT_EQ(bob.Send("alice", "back", "t2"), 0);
  EXPECT_TRUE(alice.WaitFor([](const Received& r) { return r.json.value("text", "") == "back"; }));

  // A wrong password over TLS is refused as on the plain listener.
  ChatTestClient wrong(TlsUri(), "alice", "laptop");
  wrong.set_tls(certs_ + "/ours/ca.crt");
  EXPECT_NE(wrong.Connect("not-her-password"), "");
}

TEST_F(TlsTest, PlainMqttOnTheTlsPortAndAClientTrustingAnotherCaFail) {
  StartBroker(/*require_client_certificates=*/false);
  ChatTestClient plain("tcp://127.0.0.1:" + std::to_string(tls_port_), "alice", "plain");
  EXPECT_NE(plain.Connect("pw-alice"), "") << "a plain MQTT client got in on the TLS port";

  ChatTestClient fooled(TlsUri(), "alice", "fooled");
  fooled.set_tls(certs_ + "/other/ca.crt");
  EXPECT_NE(fooled.Connect("pw-alice"), "") << "the server's certificate passed against another CA";

  ChatTestClient good(TlsUri(), "alice", "good");
  good.set_tls(certs_ + "/ours/ca.crt");
  EXPECT_EQ(good.Connect("pw-alice"), "") << "the broker still serves";
}

// The operator's and the user's command-line tools over TLS: --tls with --cafile verifies the server.
TEST_F(TlsTest, ChatCliAndChatctlConnectOverTlsAndRefuseAServerTheyCannotVerify) {
  StartBroker(/*require_client_certificates=*/false);
  ChatTestClient bob(broker_->mqtt_uri(), "bob", "phone");
  ASSERT_EQ(bob.Connect("pw-bob"), "");
  ASSERT_TRUE(bob.SubscribeOwn());

  std::string tls = " --port " + std::to_string(tls_port_) + " --tls --cafile " + certs_ + "/ours/ca.crt";
  CommandResult sent = RunCommand(std::string(CHAT_CLI_PATH) + " --host 127.0.0.1 --user alice --password pw-alice" +
                                  tls + " send bob from-the-cli");
  EXPECT_EQ(sent.exit_code, 0) << sent.output;
  EXPECT_TRUE(bob.WaitFor([](const Received& r) { return r.json.value("text", "") == "from-the-cli"; }));

  CommandResult untrusted = RunCommand(std::string(CHAT_CLI_PATH) + " --user alice --password pw-alice --port " +
                                       std::to_string(tls_port_) + " --tls --cafile " + certs_ +
                                       "/other/ca.crt send bob never");
  EXPECT_NE(untrusted.exit_code, 0) << untrusted.output;
  EXPECT_FALSE(bob.WaitFor([](const Received& r) { return r.json.value("text", "") == "never"; }, milliseconds(500)));

  CommandResult listed = RunCommand(std::string(CHATCTL_PATH) + " --broker 127.0.0.1:" + std::to_string(tls_port_) +
                                    " --tls --cafile " + certs_ + "/ours/ca.crt --admin root --admin-password pw-root user list");
  EXPECT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find("alice"), std::string::npos) << listed.output;
}

TEST_F(TlsTest, WithClientCertificatesRequiredOnlyAClientWithOneGetsIn) {
  StartBroker(/*require_client_certificates=*/true);
  ChatTestClient without(TlsUri(), "alice", "without");
  without.set_tls(certs_ + "/ours/ca.crt");
  EXPECT_NE(without.Connect("pw-alice"), "");

  ChatTestClient foreign(TlsUri(), "alice", "foreign");
  foreign.set_tls(certs_ + "/ours/ca.crt", certs_ + "/other/client.crt", certs_ + "/other/client.key");
  EXPECT_NE(foreign.Connect("pw-alice"), "") << "a client certificate from another CA got in";

  ChatTestClient with(TlsUri(), "alice", "with");
  with.set_tls(certs_ + "/ours/ca.crt", certs_ + "/ours/client.crt", certs_ + "/ours/client.key");
  EXPECT_EQ(with.Connect("pw-alice"), "");
  ASSERT_TRUE(with.SubscribeOwn());
  EXPECT_EQ(with.Send("bob", "hi", "c1"), 0);
  EXPECT_TRUE(with.WaitForType("ack"));
}

}  // namespace
}  // namespace chat::harness
