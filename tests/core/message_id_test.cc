#include "core/message_id.h"

#include <gtest/gtest.h>

#include "tests/core/fake_clock.h"

namespace chat::core {
namespace {

TEST(MessageIdTest, IdsIncreaseWithinOneMillisecond) {
  FakeClock clock;
  MessageIdGenerator ids(clock, 1, 0);
  MessageId last = 0;
  for (int i = 0; i < 10000; ++i) {  // more than the 4096 sequence numbers of one millisecond
    MessageId id = ids.Next();
    ASSERT_GT(id, last);
    last = id;
  }
}

TEST(MessageIdTest, IdsEncodeTimeAndNode) {
  FakeClock clock;
  MessageIdGenerator ids(clock, 5, 0);
  MessageId id = ids.Next();
  EXPECT_EQ(MessageIdGenerator::TimestampMillis(id), clock.now_ms);
  EXPECT_EQ((id >> 12) & 0x3FF, 5u);
}

TEST(MessageIdTest, ClockGoingBackDoesNotReuseIds) {
  FakeClock clock;
  MessageIdGenerator ids(clock, 1, 0);
  MessageId before = ids.Next();
  clock.now_ms -= 60000;
  EXPECT_GT(ids.Next(), before);
}

TEST(MessageIdTest, FloorFromAnEarlierRunHoldsAfterRestart) {
  FakeClock clock;
  MessageId floor;
  {
    MessageIdGenerator first(clock, 1, 0);
    floor = first.Next();
  }
  clock.now_ms -= 3600 * 1000;  // restarted with a wall clock an hour behind
  MessageIdGenerator second(clock, 1, floor);
  EXPECT_GT(second.Next(), floor);
}

TEST(MessageIdTest, LaterTimeGivesLargerIdOnAnyNode) {
  FakeClock clock;
  MessageIdGenerator high_node(clock, 1023, 0);
  MessageId a = high_node.Next();
  clock.Advance(1);
  MessageIdGenerator low_node(clock, 0, 0);
  EXPECT_GT(low_node.Next(), a);
}

TEST(MessageIdTest, FormatsAndParsesDecimalStrings) {
  EXPECT_EQ(FormatMessageId(384049709653692416ULL), "384049709653692416");
  EXPECT_EQ(ParseMessageId("384049709653692416"), 384049709653692416ULL);
  EXPECT_EQ(ParseMessageId("18446744073709551615"), 18446744073709551615ULL);
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "0x10", "18446744073709551616", "abc"}) {
    EXPECT_FALSE(ParseMessageId(bad)) << bad;
  }
}

}  // namespace
}  // namespace chat::core
