// FaultyStore: a Store that forwards to another and fails its writes while a test says so (a full
// disk, an I/O error), or holds them until released, to test what the commit pipeline does then.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "core/store.h"

namespace chat::core {

class FaultyStore final : public Store {
 public:
  explicit FaultyStore(Store& inner) : inner_(inner) {}

  // While set, every write fails with kIoError and stores nothing.
  void FailWrites(bool fail) { fail_.store(fail); }
  // While held, writes wait (on the writer thread) until Release.
  void HoldWrites() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held_ = false;
    }
    released_.notify_all();
  }
  // Writes that reached the store (held ones included), each one ApplyAll or Apply.
  int writes() const { return writes_.load(); }

  Status Apply(const WriteSet& writes) override { return ApplyAll({&writes}); }
  Status ApplyAll(const std::vector<const WriteSet*>& sets) override {
    ++writes_;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      released_.wait(lock, [this] { return !held_; });
    }
    if (fail_.load()) return Status::Error(ErrorCode::kIoError, "injected: no space left on device");
    return inner_.ApplyAll(sets);
  }

  // While set, RecoverFromWriteFailure says the store still refuses writes (a disk still full).
  void FailRecovery(bool fail) { fail_recovery_.store(fail); }
  Status RecoverFromWriteFailure() override {
    ++recoveries_;
    if (fail_recovery_.load()) return Status::Error(ErrorCode::kIoError, "injected: the disk is still full");
    return inner_.RecoverFromWriteFailure();
  }
  // RecoverFromWriteFailure calls so far.
  int recoveries() const { return recoveries_.load(); }

  Result<UserRecord> GetUser(const std::string& user_id) override { return inner_.GetUser(user_id); }
  Status UserExists(const std::string& user_id) override { return inner_.UserExists(user_id); }
  Status PutUser(const UserRecord& user) override { return inner_.PutUser(user); }
  Status DeleteUser(const std::string& user_id) override { return inner_.DeleteUser(user_id); }
  Result<std::vector<std::string>> ListUsers(const std::string& after, std::size_t limit) override { return inner_.ListUsers(after, limit); }
  Result<std::optional<MessageId>> FindByClientMessageId(const std::string& sender, const std::string& client_message_id) override { return inner_.FindByClientMessageId(sender, client_message_id); }
  Result<MessagePage> ReadConversation(const Conversation& conversation, const HistoryQuery& query) override { return inner_.ReadConversation(conversation, query); }
  Result<std::optional<StoredMessage>> GetMessage(const Conversation& conversation, MessageId id) override { return inner_.GetMessage(conversation, id); }
  Result<UnreadCount> CountMessagesAfter(const Conversation& conversation, MessageId after, const std::string& exclude_from, std::size_t cap, std::size_t max_bytes) override { return inner_.CountMessagesAfter(conversation, after, exclude_from, cap, max_bytes); }
  Result<MessageId> LastMessageId(const Conversation& conversation) override { return inner_.LastMessageId(conversation); }
  Result<MessageId> LargestMessageId() override { return inner_.LargestMessageId(); }
  Result<std::optional<GroupRecord>> GetGroup(const std::string& group_id) override { return inner_.GetGroup(group_id); }
  Result<std::vector<GroupMember>> ListMembers(const std::string& group_id) override { return inner_.ListMembers(group_id); }
  Result<std::size_t> CountMembers(const std::string& group_id, std::size_t cap) override { return inner_.CountMembers(group_id, cap); }
  Result<std::vector<std::string>> ListTookPart(const std::string& group_id) override { return inner_.ListTookPart(group_id); }
  Status CheckMember(const std::string& group_id, const std::string& user_id) override { return inner_.CheckMember(group_id, user_id); }
  Status CheckTookPart(const std::string& group_id, const std::string& user_id) override { return inner_.CheckTookPart(group_id, user_id); }
  Result<std::vector<std::string>> ListUserGroups(const std::string& user_id) override { return inner_.ListUserGroups(user_id); }
  Result<std::vector<GroupInvite>> ListInvites(const std::string& user_id) override { return inner_.ListInvites(user_id); }
  Result<std::uint64_t> LastQueueSeq(const std::string& user_id) override { return inner_.LastQueueSeq(user_id); }
  Result<QueuePage> ReadQueue(const std::string& user_id, std::uint64_t after, std::size_t limit) override { return inner_.ReadQueue(user_id, after, limit); }
  Result<MessageId> GetReadPosition(const std::string& user_id, const Conversation& conversation) override { return inner_.GetReadPosition(user_id, conversation); }
  Result<std::vector<std::pair<Conversation, MessageId>>> ListReadPositions(const std::string& user_id) override {
    return inner_.ListReadPositions(user_id);
  }
  Result<std::optional<std::int64_t>> MemberSince(const std::string& group_id, const std::string& user_id) override {
    return inner_.MemberSince(group_id, user_id);
  }
  Result<MentionPage> ReadMentions(const std::string& user_id, MessageId before, std::size_t limit) override {
    return inner_.ReadMentions(user_id, before, limit);
  }
  Result<SearchPage> Search(const SearchQuery& query) override { return inner_.Search(query); }
  Result<InboxPage> ReadInbox(const std::string& user_id, MessageId before, std::size_t limit) override {
    return inner_.ReadInbox(user_id, before, limit);
  }
  Result<ContactState> GetContact(const std::string& user_id, const std::string& other) override { return inner_.GetContact(user_id, other); }
  Result<std::vector<std::pair<std::string, ContactState>>> ListContacts(const std::string& user_id) override { return inner_.ListContacts(user_id); }
  Result<std::int64_t> GetLastActive(const std::string& user_id) override { return inner_.GetLastActive(user_id); }
  Result<std::vector<PushToken>> ListPushTokens(const std::string& user_id) override { return inner_.ListPushTokens(user_id); }
  Result<std::optional<ResumeToken>> GetResumeToken(const std::string& user_id, const std::string& device_id) override {
    return inner_.GetResumeToken(user_id, device_id);
  }
  Result<std::vector<ResumeToken>> ListResumeTokens(const std::string& user_id) override {
    return inner_.ListResumeTokens(user_id);
  }
  Result<std::vector<PushJob>> ListPushJobs() override { return inner_.ListPushJobs(); }
  Result<std::vector<WriteSet::LogOutboxRecord>> ListLogOutbox() override { return inner_.ListLogOutbox(); }
  Result<bool> IsMuted(const std::string& user_id, const Conversation& conversation) override { return inner_.IsMuted(user_id, conversation); }
  Status Checkpoint(const std::string& dir) override { return inner_.Checkpoint(dir); }
  Result<RetentionSwept> ApplyRetention(const RetentionCutoffs& cutoffs) override { return inner_.ApplyRetention(cutoffs); }
  Result<StoreStatistics> Statistics() override { return inner_.Statistics(); }

 private:
  Store& inner_;
  std::atomic<bool> fail_{false};
  std::atomic<int> writes_{0};
  std::atomic<int> recoveries_{0};
  std::atomic<bool> fail_recovery_{false};
  std::mutex mutex_;
  std::condition_variable released_;
  bool held_ = false;
};

}  // namespace chat::core
