#include "storage/change_record.h"

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "storage/binary_fields.h"

namespace chat::storage {
namespace {

constexpr char kChangeVersion = 1;

// How many fields an aggregate has: the most initializers it accepts. It lets EveryField refuse to
// compile when a field was added to a record but not to its Fields() below, which would otherwise drop
// that field from every change silently.
struct AnyField {
  template <class T>
  operator T() const;  // NOLINT: implicit by design; declared only, for unevaluated use
};
template <class Record, class... Initializers>
constexpr std::size_t FieldCount() {
  if constexpr (requires { Record{Initializers{}..., AnyField{}}; }) {
    return FieldCount<Record, Initializers..., AnyField>();
  } else {
    return sizeof...(Initializers);
  }
}

template <class Io, class Record, class... Members>
void EveryField(Io& io, const Record& /*record*/, Members&... fields) {
  static_assert(FieldCount<Record>() == sizeof...(Members),
                "a field of this record is missing from its Fields(): list it there, in declaration order");
  (io.Field(fields), ...);
}

// Stands for a field that is the writing node's own and no part of the logged change.
struct NotLogged {
  explicit NotLogged(const auto& /*field*/) {}
};

template <class T, class Record>
concept Is = std::same_as<std::remove_const_t<T>, Record>;

// Each record's fields, in declaration order: one list serves encoding and decoding, so the two cannot
// disagree.
void Fields(auto& io, Is<core::Conversation> auto& c) { EveryField(io, c, c.kind, c.key); }
void Fields(auto& io, Is<core::PasswordHash> auto& h) { EveryField(io, h, h.iterations, h.salt, h.digest); }
void Fields(auto& io, Is<core::UserRecord> auto& u) {
  EveryField(io, u, u.user_id, u.password, u.is_admin, u.created_at_ms, u.history_floor);
}
void Fields(auto& io, Is<core::StoredMessage> auto& m) {
  EveryField(io, m, m.id, m.from, m.to, m.group_id, m.text, m.created_at_ms, m.client_message_id, m.edited_at_ms,
             m.deleted_by, m.mentions, m.mentions_all);
}
void Fields(auto& io, Is<core::WriteSet::Mention> auto& m) { EveryField(io, m, m.user_id, m.group_id, m.message_id); }
void Fields(auto& io, Is<core::QueueEntry> auto& e) {
  EveryField(io, e, e.kind, e.conversation, e.message_id, e.event_json, e.created_at_ms);
}
void Fields(auto& io, Is<core::WriteSet::QueueAppend> auto& a) { EveryField(io, a, a.user_id, a.seq, a.entry); }
void Fields(auto& io, Is<core::GroupRecord> auto& g) {
  EveryField(io, g, g.group_id, g.name, g.owner, g.created_at_ms);
}
void Fields(auto& io, Is<core::WriteSet::Membership> auto& m) {
  EveryField(io, m, m.group_id, m.user_id, m.joined_at_ms);
}
void Fields(auto& io, Is<core::WriteSet::ReadPosition> auto& r) {
  EveryField(io, r, r.user_id, r.conversation, r.up_to);
}
void Fields(auto& io, Is<core::DirectPeer> auto& p) { EveryField(io, p, p.peer, p.last_id); }
void Fields(auto& io, Is<core::WriteSet::PeerUpdate> auto& p) { EveryField(io, p, p.user_id, p.peer); }
void Fields(auto& io, Is<core::WriteSet::ContactUpdate> auto& c) { EveryField(io, c, c.user_id, c.other, c.state); }
void Fields(auto& io, Is<core::WriteSet::LastActive> auto& l) { EveryField(io, l, l.user_id, l.at_ms); }
void Fields(auto& io, Is<core::PushToken> auto& t) {
  EveryField(io, t, t.device_id, t.provider, t.token, t.platform);
}
void Fields(auto& io, Is<core::WriteSet::TokenUpdate> auto& t) { EveryField(io, t, t.user_id, t.token); }
void Fields(auto& io, Is<core::ResumeToken> auto& t) { EveryField(io, t, t.device_id, t.digest, t.issued_at_ms); }
void Fields(auto& io, Is<core::WriteSet::ResumeTokenUpdate> auto& t) { EveryField(io, t, t.user_id, t.token); }
void Fields(auto& io, Is<core::PushJob> auto& j) {
  EveryField(io, j, j.job_id, j.user_id, j.from, j.conversation, j.count, j.preview, j.created_at_ms,
             j.message_id);
}
void Fields(auto& io, Is<core::WriteSet::MuteUpdate> auto& m) {
  EveryField(io, m, m.user_id, m.conversation, m.muted);
}
void Fields(auto& io, Is<core::GroupInvite> auto& i) { EveryField(io, i, i.group_id, i.user_id, i.by, i.at_ms); }
void Fields(auto& io, Is<core::WriteSet> auto& w) {
  NotLogged outbox_added(w.log_outbox_added);
  NotLogged outbox_done(w.log_outbox_done);
  EveryField(io, w, w.users, w.users_deleted, w.messages, w.changed_messages, w.mentions, w.mentions_removed, w.queue, w.groups,
             w.members_added, w.members_removed, w.read_positions, w.peers, w.contacts, w.last_active,
             w.push_tokens, w.resume_tokens, w.resume_tokens_revoked, w.push_jobs, w.push_jobs_done, w.mutes,
             w.group_accepts, w.took_part_removed, w.invites_added, w.invites_removed, w.erased_users,
             w.id_floor, w.change_id, outbox_added, outbox_done);
}

// The values a decoded enum may take: a byte from another node is not trusted to be one.
bool IsKnown(core::Conversation::Kind kind) {
  return kind == core::Conversation::Kind::kDirect || kind == core::Conversation::Kind::kGroup;
}
bool IsKnown(core::QueueEntry::Kind kind) {
  return kind == core::QueueEntry::Kind::kMessage || kind == core::QueueEntry::Kind::kEvent ||
         kind == core::QueueEntry::Kind::kChange;
}
bool IsKnown(core::ContactState state) {
  return state == core::ContactState::kNone || state == core::ContactState::kContact ||
         state == core::ContactState::kOutgoing || state == core::ContactState::kIncoming;
}

template <class T>
constexpr bool kIsList = false;
template <class T>
constexpr bool kIsList<std::vector<T>> = true;

// The fewest bytes an item of a list can take: a byte per field of a record (no record in a list has a
// NotLogged field), a byte for anything else.
template <class T>
constexpr std::size_t MinEncodedSize() {
  if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string> && !kIsList<T>) {
    return FieldCount<T>();
  } else {
    return 1;
  }
}

class FieldWriter {
 public:
  explicit FieldWriter(std::string* out) : out_(out) {}

  template <class T>
  void Field(const T& value) {
    if constexpr (std::is_same_v<T, NotLogged>) {
    } else if constexpr (std::is_same_v<T, bool>) {
      out_->push_back(value ? 1 : 0);
    } else if constexpr (std::is_enum_v<T>) {
      static_assert(sizeof(T) == 1, "an enum is written as one byte");
      out_->push_back(static_cast<char>(value));
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      PutSignedVarint(value, out_);
    } else if constexpr (std::is_unsigned_v<T>) {
      PutVarint(value, out_);
    } else if constexpr (std::is_same_v<T, std::string>) {
      PutString(value, out_);
    } else if constexpr (kIsList<T>) {
      PutVarint(value.size(), out_);
      for (const auto& item : value) Field(item);
    } else {
      Fields(*this, value);
    }
  }

 private:
  std::string* out_;
};

// Reads what FieldWriter wrote. The first thing wrong ends the reading and is kept as error().
class FieldReader {
 public:
  explicit FieldReader(std::string_view bytes) : in_(bytes) {}
  const std::string& error() const { return error_; }
  std::size_t left() const { return in_.left(); }

  template <class T>
  void Field(T& value) {
    if (!error_.empty()) return;
    if constexpr (std::is_same_v<T, NotLogged>) {
    } else if constexpr (std::is_same_v<T, bool>) {
      char byte = in_.Byte();
      if (byte != 0 && byte != 1) return Refuse("a bool that is neither 0 nor 1", static_cast<unsigned char>(byte));
      value = byte == 1;
    } else if constexpr (std::is_enum_v<T>) {
      char byte = in_.Byte();
      value = static_cast<T>(static_cast<unsigned char>(byte));
      if (in_.ok() && !IsKnown(value)) return Refuse("an unknown enum value", static_cast<unsigned char>(byte));
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      value = in_.SignedVarint();
    } else if constexpr (std::is_unsigned_v<T>) {
      std::uint64_t number = in_.Varint();
      if (number > std::numeric_limits<T>::max()) return Refuse("a number too large for its field", number);
      value = static_cast<T>(number);
    } else if constexpr (std::is_same_v<T, std::string>) {
      value = in_.String();
    } else if constexpr (kIsList<T>) {
      return List(value);
    } else {
      return Fields(*this, value);
    }
    if (!in_.ok()) Refuse("truncated change record");
  }

 private:
  template <class Item>
  void List(std::vector<Item>& items) {
    std::uint64_t count = in_.Varint();
    if (!in_.ok()) return Refuse("truncated change record");
    // Checked before anything is reserved: a forged count must not make the decoder allocate.
    if (count > in_.left() / MinEncodedSize<Item>()) {
      return Refuse("a list longer than the bytes left could hold", count);
    }
    items.reserve(count);
    for (std::uint64_t i = 0; i < count && error_.empty(); ++i) Field(items.emplace_back());
  }

  void Refuse(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }
  void Refuse(const char* what, std::uint64_t value) {
    Refuse(std::string("change record holds ") + what + " (" + std::to_string(value) + ")");
  }

  Reader in_;
  std::string error_;
};

core::Status Corrupt(std::string what) { return core::Status::Error(core::ErrorCode::kCorruption, std::move(what)); }

}  // namespace

std::string EncodeChange(const core::WriteSet& writes) {
  std::string out(1, kChangeVersion);
  FieldWriter(&out).Field(writes);
  return out;
}

core::Status DecodeChange(std::string_view bytes, core::WriteSet* out) {
  if (bytes.empty()) return Corrupt("truncated change record: no version byte");
  if (bytes.front() != kChangeVersion) {
    return Corrupt("unknown change record version " + std::to_string(static_cast<unsigned char>(bytes.front())));
  }
  FieldReader in(bytes.substr(1));
  core::WriteSet writes;
  in.Field(writes);
  if (!in.error().empty()) return Corrupt(in.error());
  if (in.left() != 0) return Corrupt(std::to_string(in.left()) + " bytes after the end of a change record");
  *out = std::move(writes);
  return core::Status::Ok();
}

}  // namespace chat::storage
