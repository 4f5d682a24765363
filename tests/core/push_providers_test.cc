#include "core/push_providers.h"

#include <gtest/gtest.h>

namespace chat::core {
namespace {

TEST(PushProvidersTest, KnowsTheListedProvidersOnly) {
  EXPECT_TRUE(IsKnownPushProvider("fcm"));
  EXPECT_TRUE(IsKnownPushProvider("apns"));
  EXPECT_TRUE(IsKnownPushProvider("webhook"));
  EXPECT_FALSE(IsKnownPushProvider(""));
  EXPECT_FALSE(IsKnownPushProvider("FCM"));
  EXPECT_FALSE(IsKnownPushProvider("gcm"));
}

TEST(PushProvidersTest, JoinsNamesForMessages) {
  EXPECT_EQ(JoinPushProviders(" or "), "fcm, apns or webhook");
  EXPECT_EQ(JoinPushProviders(", "), "fcm, apns, webhook");
}

}  // namespace
}  // namespace chat::core
