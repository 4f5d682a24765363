// Tests of the journal: what is recorded survives a reopen, torn and unreadable lines are harmless, two
// writers on one file see each other's lines, and compaction drops old entries without losing new ones.
#include "bridge/journal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/core/fake_clock.h"

namespace chat::bridge {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/chat-journal-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/journal";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Journal> Open(std::chrono::hours retention = std::chrono::hours(24)) {
    auto journal = Journal::Open(path_, retention, clock_);
    EXPECT_TRUE(journal.ok()) << journal.status().message();
    return journal.ok() ? std::move(*journal) : nullptr;
  }

  std::string Contents() {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
  std::string path_;
  core::SystemClock clock_;  // the journal stamps lines with the real time, as the tests write theirs
};

TEST_F(JournalTest, RemembersAcrossReopen) {
  {
    auto journal = Open();
    EXPECT_FALSE(journal->Find("1").has_value());
    EXPECT_TRUE(journal->RecordTarget("1", "phone", TargetState::kAccepted).ok());
    EXPECT_TRUE(journal->RecordTarget("1", "tablet", TargetState::kInvalidToken).ok());
    EXPECT_TRUE(journal->RecordTarget("2", "phone", TargetState::kFailed).ok());
    EXPECT_TRUE(journal->RecordResult("1", JobResult{true, {"tablet"}}).ok());
    EXPECT_EQ(journal->job_count(), 2u);
  }
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto journal = Open();
  auto one = journal->Find("1");
  ASSERT_TRUE(one.has_value());
  ASSERT_TRUE(one->result.has_value());
  EXPECT_TRUE(one->result->sent);
  EXPECT_EQ(one->result->invalid_devices, std::vector<std::string>{"tablet"});
  EXPECT_EQ(one->targets.at("phone"), TargetState::kAccepted);
  EXPECT_EQ(one->targets.at("tablet"), TargetState::kInvalidToken);
  auto two = journal->Find("2");
  ASSERT_TRUE(two.has_value());
  EXPECT_FALSE(two->result.has_value());
  EXPECT_EQ(two->targets.at("phone"), TargetState::kFailed);
  EXPECT_EQ(journal->bad_lines(), 0u);
}

TEST_F(JournalTest, TornLastLineIsIgnoredAndCutOnTheNextAppend) {
  {
    auto journal = Open();
    EXPECT_TRUE(journal->RecordTarget("1", "phone", TargetState::kAccepted).ok());
  }
  std::ofstream(path_, std::ios::app) << R"({"t":1,"job":"2","device":"pho)";  // a crash mid-write
  auto journal = Open();
  EXPECT_TRUE(journal->Find("1").has_value());
  EXPECT_FALSE(journal->Find("2").has_value());
  EXPECT_TRUE(journal->RecordResult("3", JobResult{false, {}}).ok());
  std::string text = Contents();
  EXPECT_EQ(text.find(R"("job":"2")"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  auto reopened = Open();
  EXPECT_TRUE(reopened->Find("1").has_value());
  EXPECT_TRUE(reopened->Find("3").has_value());
  EXPECT_EQ(reopened->bad_lines(), 0u);
}

TEST_F(JournalTest, UnreadableLinesAreSkipped) {
  std::ofstream(path_) << "garbage\n{\"t\":1}\n{\"t\":" << 4102444800000 << R"(,"job":"5","outcome":"sent"})"
                       << "\n";
  auto journal = Open();
  EXPECT_EQ(journal->bad_lines(), 2u);
  auto five = journal->Find("5");
  ASSERT_TRUE(five.has_value());
  ASSERT_TRUE(five->result.has_value());
  EXPECT_TRUE(five->result->sent);
}

TEST_F(JournalTest, TwoWritersSeeEachOthersLines) {
  auto a = Open();
  auto b = Open();
  EXPECT_TRUE(a->RecordTarget("1", "phone", TargetState::kAccepted).ok());
  auto seen = b->Find("1");
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->targets.at("phone"), TargetState::kAccepted);
  EXPECT_TRUE(b->RecordResult("1", JobResult{true, {}}).ok());
  EXPECT_TRUE(a->RecordTarget("2", "phone", TargetState::kFailed).ok());
  auto result = a->Find("1");
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->result.has_value());
  EXPECT_TRUE(result->result->sent);
  // Each line is in the file once, appended in turn.
  std::string text = Contents();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
}

TEST_F(JournalTest, CompactionDropsOldEntriesAndOthersFollow) {
  std::int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::int64_t two_hours_ago = now - 2 * 3600 * 1000;
  {
    std::ofstream out(path_);
    out << R"({"t":)" << two_hours_ago << R"(,"job":"old","device":"phone","state":"accepted"})"
        << "\n";
    out << R"({"t":)" << two_hours_ago << R"(,"job":"old","outcome":"sent","invalid_devices":[]})"
        << "\n";
    out << R"({"t":)" << now << R"(,"job":"new","device":"phone","state":"accepted"})"
        << "\n";
  }
  auto keeper = Open(std::chrono::hours(24));  // keeps both, opened on the original file
  EXPECT_TRUE(keeper->Find("old").has_value());

  auto compactor = Open(std::chrono::hours(1));  // Open compacts: "old" goes
  EXPECT_FALSE(compactor->Find("old").has_value());
  EXPECT_TRUE(compactor->Find("new").has_value());
  EXPECT_EQ(Contents().find("\"old\""), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".compact"));

  // The other writer notices the replaced file, reloads it, and appends to the new one.
  EXPECT_TRUE(keeper->RecordResult("new", JobResult{true, {}}).ok());
  EXPECT_FALSE(keeper->Find("old").has_value());
  auto both = compactor->Find("new");
  ASSERT_TRUE(both.has_value());
  EXPECT_TRUE(both->result.has_value());
  EXPECT_EQ(both->targets.at("phone"), TargetState::kAccepted);
  EXPECT_EQ(Open()->job_count(), 1u);
}

TEST_F(JournalTest, RetentionFollowsTheInjectedClock) {
  core::FakeClock clock;
  {
    auto journal = Journal::Open(path_, std::chrono::hours(1), clock);
    ASSERT_TRUE(journal.ok()) << journal.status().message();
    EXPECT_TRUE((*journal)->RecordResult("old", JobResult{true, {}}).ok());
  }
  clock.Advance(30 * 60 * 1000);
  {
    auto journal = Journal::Open(path_, std::chrono::hours(1), clock);  // within the hour: kept
    ASSERT_TRUE(journal.ok());
    EXPECT_TRUE((*journal)->Find("old").has_value());
  }
  clock.Advance(31 * 60 * 1000);
  auto journal = Journal::Open(path_, std::chrono::hours(1), clock);  // past it: Open compacts it away
  ASSERT_TRUE(journal.ok());
  EXPECT_FALSE((*journal)->Find("old").has_value());
  EXPECT_EQ((*journal)->job_count(), 0u);
}

TEST_F(JournalTest, OpenFailsWithTheReason) {
  auto journal = Journal::Open(dir_ + "/no/such/folder/journal", std::chrono::hours(1), clock_);
  EXPECT_FALSE(journal.ok());
  std::string error = journal.status().message();
  EXPECT_NE(error.find("no/such/folder/journal"), std::string::npos) << error;
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

}  // namespace
}  // namespace chat::bridge
