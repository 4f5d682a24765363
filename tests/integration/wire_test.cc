// WireTest: what one message puts on the wire, counted packet by packet by a relay between the clients and
// the broker (PacketCountingProxy), for the chat server and for bare Mosquitto in the same test. Bare
// Mosquitto's QoS 1 message is four packets (PUBLISH in, PUBACK, PUBLISH out, PUBACK); a 1:1 send may
// cost at most 1.25 times that, and a group message at most one PUBLISH per other member's device.
#include <gtest/gtest.h>

#include "harness/packet_counting_proxy.h"
#include "tests/integration/groups_sync_fixture.h"

namespace chat::harness {
namespace {

constexpr int kMessages = 20;

// Packets per message from the counts over kMessages messages.
double PerMessage(long packets) { return static_cast<double>(packets) / kMessages; }

// Waits until `pubacks` PUBACKs went to the broker (a recipient's leaves Paho after the message reached
// the test), then a little longer: anything extra would show up now.
void Settle(const PacketCountingProxy& proxy, long pubacks) {
  auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (proxy.Total().to(PacketType::kPuback) < pubacks && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  std::this_thread::sleep_for(milliseconds(200));
}

class WireTest : public GroupsSyncTest {
 protected:
  // A device connected through `proxy` (the next connection number there), its own topics subscribed.
  std::unique_ptr<ChatTestClient> DeviceThrough(PacketCountingProxy& proxy, const std::string& user) {
    auto client = std::make_unique<ChatTestClient>(proxy.uri(), user, "phone");
    client->set_keepalive(300);  // no PINGREQ in the middle of a count
    EXPECT_EQ(client->Connect(Password(user)), "") << user;
    EXPECT_TRUE(client->SubscribeOwn()) << user;
    return client;
  }

  // Sends kMessages, each after the chat ack of the one before, and waits until every recipient has all
  // of them and the broker has every recipient's PUBACK.
  void SendAndSettle(PacketCountingProxy& proxy, ChatTestClient& sender, const json& request_base, int send_qos,
                     const std::vector<ChatTestClient*>& recipients) {
    proxy.Reset();
    for (int i = 0; i < kMessages; ++i) {
      json request = request_base;
      request["text"] = "m" + std::to_string(i);
      request["cmid"] = "c" + std::to_string(i) + "-" + std::to_string(send_qos);
      if (send_qos == 1) {
        ASSERT_EQ(sender.Publish("chat/v1/req/send", request.dump()), 0);
      } else {
        ASSERT_TRUE(sender.PublishNoWait("chat/v1/req/send", request.dump()));
      }
      auto ack = sender.WaitForType("ack");
      ASSERT_TRUE(ack) << "no chat ack for " << request.dump();
    }
    for (ChatTestClient* recipient : recipients) {
      for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(recipient->WaitForType("message")) << recipient->user();
    }
    Settle(proxy, static_cast<long>(recipients.size()) * kMessages);
  }
};

TEST_F(WireTest, BareMosquittoQos1MessageIsFourPackets) {
  // The reference the ratios below are taken against, measured rather than assumed.
  broker_ = std::make_unique<BrokerProcess>(BrokerOptions{.with_plugin = false});
  ASSERT_EQ(broker_->Start(), "");
  PacketCountingProxy proxy(broker_->mqtt_port());
  ChatTestClient alice(proxy.uri(), "alice", "phone");
  ChatTestClient bob(proxy.uri(), "bob", "phone");
  alice.set_keepalive(300);
  bob.set_keepalive(300);
  ASSERT_EQ(alice.Connect(""), "");
  ASSERT_EQ(bob.Connect(""), "");
  ASSERT_TRUE(bob.Subscribe("t/bob", 1));
  proxy.Reset();
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(alice.Publish("t/bob", "m" + std::to_string(i), 1), 0);
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(bob.WaitFor([](const Received& r) { return r.topic == "t/bob"; }));
  Settle(proxy, kMessages);  // bob's PUBACKs (alice's come from the broker)
  PacketCounts total = proxy.Total();
  std::cout << "bare Mosquitto: " << PerMessage(total.total_without_pings()) << " packets per QoS 1 message" << std::endl;
  EXPECT_EQ(total.total_without_pings(), 4 * kMessages);
}

TEST_F(WireTest, OneToOneSendIsAtMostFivePacketsAndFourAtQos0) {
  StartBroker({"alice", "bob"});
  PacketCountingProxy proxy(broker_->mqtt_port());
  auto alice = DeviceThrough(proxy, "alice");
  auto bob = DeviceThrough(proxy, "bob");
  ASSERT_EQ(proxy.connections(), 2u);

  // QoS 1: PUBLISH in, PUBACK, the chat ack (QoS 0, carrying seq), the event to bob, bob's PUBACK.
  SendAndSettle(proxy, *alice, {{"to", "bob"}}, 1, {bob.get()});
  PacketCounts sender = proxy.Counts(0);
  PacketCounts recipient = proxy.Counts(1);
  std::cout << "1:1 send at QoS 1: " << PerMessage(proxy.Total().total_without_pings()) << " packets" << std::endl;
  EXPECT_EQ(sender.to(PacketType::kPublish), kMessages);
  EXPECT_EQ(sender.from(PacketType::kPuback), kMessages);
  EXPECT_EQ(sender.from(PacketType::kPublish), kMessages) << "the sending device gets one reply per send, no event copy";
  EXPECT_EQ(sender.to(PacketType::kPuback), 0) << "the chat ack is QoS 0";
  EXPECT_EQ(recipient.from(PacketType::kPublish), kMessages);
  EXPECT_EQ(recipient.to(PacketType::kPuback), kMessages);
  EXPECT_EQ(proxy.Total().total_without_pings(), 5 * kMessages) << "1.25x bare Mosquitto's four";

  // QoS 0 send (a client that retries until the chat ack): the chat ack replaces the PUBACK.
  SendAndSettle(proxy, *alice, {{"to", "bob"}}, 0, {bob.get()});
  std::cout << "1:1 send at QoS 0: " << PerMessage(proxy.Total().total_without_pings()) << " packets" << std::endl;
  EXPECT_EQ(proxy.Counts(0).from(PacketType::kPuback), 0);
  EXPECT_EQ(proxy.Total().total_without_pings(), 4 * kMessages) << "as bare Mosquitto";
}

TEST_F(WireTest, GroupMessageIsOnePublishPerOtherMember) {
  StartBroker({"alice", "bob", "carol", "dave"});
  std::string group;
  {
    auto owner = Device({.user = "alice", .device = "setup"});
    group = CreateGroup(*owner, "crew", {"bob", "carol", "dave"});
    ASSERT_NE(group, "");
  }
  PacketCountingProxy proxy(broker_->mqtt_port());
  auto alice = DeviceThrough(proxy, "alice");
  auto bob = DeviceThrough(proxy, "bob");
  auto carol = DeviceThrough(proxy, "carol");
  auto dave = DeviceThrough(proxy, "dave");
  for (auto* device : {alice.get(), bob.get(), carol.get(), dave.get()}) device->Collect(milliseconds(100));

  SendAndSettle(proxy, *alice, {{"group", group}}, 1, {bob.get(), carol.get(), dave.get()});
  EXPECT_EQ(proxy.Counts(0).from(PacketType::kPublish), kMessages) << "the sender: its chat ack only";
  for (std::size_t member = 1; member <= 3; ++member) {
    EXPECT_EQ(proxy.Counts(member).from(PacketType::kPublish), kMessages) << "member connection " << member;
  }
  std::cout << "group send to 3 others at QoS 1: " << PerMessage(proxy.Total().total_without_pings()) << " packets"
            << std::endl;
  // In, PUBACK, chat ack, and a PUBLISH + PUBACK per other member.
  EXPECT_EQ(proxy.Total().total_without_pings(), (3 + 2 * 3) * kMessages);
}

// Mosquitto 2.0.11 writes a few KB to a WebSocket client per pass of its event loop, and an idle loop
// waits 100 ms between passes: a 300 KB event took 7 seconds to reach a web client until the plugin
// kept the loop turning while it goes out (BrokerWaker::KeepTurning). The bound leaves room for a slow
// machine many times over; the benchmark (chat-bench large) measures the time.
TEST_F(WireTest, ALargeEventReachesAWebSocketDeviceWithoutTheIdleLoopsPauses) {
  StartBroker({"alice", "bob"});
  auto alice = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), "alice", "phone");
  ASSERT_EQ(alice->Connect(Password("alice")), "");
  auto bob = std::make_unique<ChatTestClient>("ws://127.0.0.1:" + std::to_string(broker_->ws_port()), "bob", "web");
  ASSERT_EQ(bob->Connect(Password("bob")), "");
  ASSERT_TRUE(bob->SubscribeOwn());
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "\xED\x95\x9C";  // 한: 300 KB of Hangul
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    ASSERT_GE(alice->Send("bob", text, "big-" + std::to_string(i)), 0);
    auto event = bob->WaitForType("message", seconds(10));
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["text"], text);
    EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3)) << "message " << i;
  }
}

}  // namespace
}  // namespace chat::harness
