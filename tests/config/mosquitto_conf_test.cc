#include "config/mosquitto_conf.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "harness/broker_process.h"

namespace chat::config {
namespace {

std::string ShippedTemplate() {
  std::ifstream in(harness::SourceConfigDir() + "/mosquitto.conf.in");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

core::Result<std::string> ConfFor(const std::string& yaml) {
  auto config = ParseServerConfig(yaml, "/etc/chat");
  if (!config.ok()) return config.status();
  return MosquittoConf(ShippedTemplate(), *config, {"/usr/lib/chat/chat_plugin.so", "/etc/chat/chat.yaml", "chat"});
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(MosquittoConfTest, TheDefaultsArePlainListenersOnLoopbackAndNoTls) {
  auto conf = ConfFor("");
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  EXPECT_TRUE(Has(*conf, "listener 1883 127.0.0.1\nprotocol mqtt\n"));
  EXPECT_TRUE(Has(*conf, "listener 8080 127.0.0.1\nprotocol websockets\n"));
  EXPECT_TRUE(Has(*conf, "plugin /usr/lib/chat/chat_plugin.so\nplugin_opt_config_file /etc/chat/chat.yaml\n"));
  EXPECT_TRUE(Has(*conf, "plugin_opt_local_listener 127.0.0.1:1883"));
  EXPECT_TRUE(Has(*conf, "user chat\n"));
  EXPECT_FALSE(Has(*conf, "certfile"));
  for (const char* placeholder : {"@USER@", "@BIND_ADDRESS@", "@MQTT_PORT@", "@WS_LISTENER@", "@TLS_LISTENERS@", "@LOCAL_ADDRESS@", "@PLUGIN@", "@CONFIG_FILE@"}) {
    EXPECT_FALSE(Has(*conf, placeholder)) << placeholder << " left unfilled";
  }
}

TEST(MosquittoConfTest, TlsListenersForMqttAndWebSocketWithTls12AtLeast) {
  auto conf = ConfFor("tls:\n  cert_file: tls/server.crt\n  key_file: /keys/server.key\n  mqtt_port: 18883\n");
  // The files do not exist here: the generator refuses, naming the setting.
  ASSERT_FALSE(conf.ok());
  EXPECT_EQ(conf.status().message(), "tls.cert_file: cannot read /etc/chat/tls/server.crt");

  std::string dir = std::filesystem::path(::testing::TempDir()).lexically_normal().string();
  if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  for (const char* name : {"server.crt", "server.key", "ca.crt"}) std::ofstream(dir + "/" + name) << "x";
  conf = ConfFor("tls:\n  cert_file: " + dir + "/server.crt\n  key_file: " + dir + "/server.key\n  mqtt_port: 18883\n");
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  std::string tls_block = "certfile " + dir + "/server.crt\nkeyfile " + dir + "/server.key\ntls_version tlsv1.2\n";
  EXPECT_TRUE(Has(*conf, "listener 18883 0.0.0.0\nprotocol mqtt\nmax_qos 1\nmax_connections 10000\n" + tls_block));
  EXPECT_TRUE(Has(*conf, "listener 8443 0.0.0.0\nprotocol websockets\nmax_qos 1\nmax_connections 10000\n" + tls_block));
  EXPECT_FALSE(Has(*conf, "require_certificate"));

  conf = ConfFor("tls:\n  cert_file: " + dir + "/server.crt\n  key_file: " + dir + "/server.key\n  client_ca_file: " +
                 dir + "/ca.crt\n");
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  EXPECT_TRUE(Has(*conf, "cafile " + dir + "/ca.crt\nrequire_certificate true\nuse_identity_as_username false\n"));
  for (const char* name : {"server.crt", "server.key", "ca.crt"}) std::filesystem::remove(dir + "/" + name);
}

TEST(MosquittoConfTest, PlainListenersOffLoopbackOnlyWhenTheConfigSaysSo) {
  auto refused = ConfFor("listeners:\n  address: 0.0.0.0\n");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Has(refused.status().message(), "listeners.address: 0.0.0.0 is not loopback")) << refused.status().message();
  EXPECT_FALSE(ConfFor("listeners:\n  address: 192.168.1.5\n").ok());
  EXPECT_FALSE(ConfFor("listeners:\n  address: 127.example.com\n").ok()) << "a name that merely starts like loopback";
  EXPECT_TRUE(ConfFor("listeners:\n  address: 127.0.0.2\n").ok());
  EXPECT_TRUE(ConfFor("listeners:\n  address: \"::1\"\n").ok());

  auto allowed = ConfFor("listeners:\n  address: 0.0.0.0\n  plain_on_network: true\n");
  ASSERT_TRUE(allowed.ok()) << allowed.status().ToString();
  EXPECT_TRUE(Has(*allowed, "listener 1883 0.0.0.0\n"));
  EXPECT_TRUE(Has(*allowed, "plugin_opt_local_listener 127.0.0.1:1883")) << "the plugin's own way in stays on loopback";

  auto no_websocket = ConfFor("listeners:\n  websockets_port: 0\n");
  ASSERT_TRUE(no_websocket.ok());
  EXPECT_FALSE(Has(*no_websocket, "protocol websockets"));
}

TEST(MosquittoConfTest, CertificateAndKeyGoTogether) {
  EXPECT_EQ(ParseServerConfig("tls:\n  cert_file: a.crt\n", "/x").status().message(),
            "tls: cert_file and key_file go together");
  EXPECT_EQ(ParseServerConfig("tls:\n  client_ca_file: ca.crt\n", "/x").status().message(),
            "tls.client_ca_file: needs tls.cert_file and tls.key_file");
}

}  // namespace
}  // namespace chat::config
