// GroupService: create groups, add (a contact) or invite (anyone else) members, join or decline an
// invitation, remove members, leave, rename, list. Every change is a group event in the sync queue of
// every member it concerns; an invitation only in its invitee's.
#pragma once

#include <string>
#include <vector>

#include "core/outbox.h"
#include "core/protocol_format.h"
#include "core/service_context.h"
#include "core/topic_format.h"

namespace chat::core {

// Not thread-safe; borrows `context`.
class GroupService {
 public:
  explicit GroupService(ServiceContext& context) : context_(context) {}

  // Request handlers (see ChatService's request table): group_create ... group_decline.
  Status Create(const Request& r);
  Status Add(const Request& r);
  Status Remove(const Request& r);
  Status Leave(const Request& r);
  Status Rename(const Request& r);
  Status List(const Request& r);
  Status Members(const Request& r);
  Status Join(const Request& r);
  Status Decline(const Request& r);
  // `user_id` leaves every group (a deleted account): members are told, ownership passes on; their
  // invitations are dropped.
  Status LeaveAll(const std::string& user_id, Outbox& outbox);

 private:

  // An event for one user's queue only (an invitation).
  struct Notice {
    std::string user;
    std::string event;
  };
  // True when the caller puts `user` in a group at once: themselves, a contact of theirs (who consented
  // to them), or anyone for a server admin. Anyone else is invited and joins by accepting.
  Result<bool> AddsDirectly(const Caller& caller, const std::string& user);
  // Whether `user` may get an invitation to `group_id` from the caller: false when they have one
  // already; kNotAllowed when one of the caller's is still unanswered, or too many are waiting.
  Result<bool> CheckInvitable(const Caller& caller, const std::string& user, const std::string& group_id);
  // The group of the caller's invitation named by the request's "group" field; kNotFound without one.
  Result<std::string> InvitationFor(const Caller& caller, const RequestFields& request);
  // Adds invitations of `users` to `writes` and returns their notices.
  std::vector<Notice> Invite(const GroupRecord& group, const std::string& by, const std::vector<std::string>& users,
                             std::int64_t now, WriteSet* writes);

  struct Loaded {
    GroupRecord group;
    std::vector<GroupMember> members;
  };
  // The group named by the request's "group" field, which the caller must belong to (server admins may
  // act on any group).
  Result<Loaded> LoadForCaller(const Caller& caller, const RequestFields& request);
  Status CheckName(const std::string& name) const;
  // kNotAllowed when `user` is in max_groups_per_user groups already.
  Status CheckRoomForAnotherGroup(const std::string& user);
  // `user_id` leaves `loaded`'s group (which it is a member of); ownership passes on if it owned it.
  Status Depart(const std::string& user_id, Loaded& loaded, Transaction& tx);
  // Queues `event` for every user in `audience` (and each notice for its user).
  Status Deliver(Transaction& tx, const std::string& event, const std::vector<std::string>& audience,
                 const std::vector<Notice>& notices = {});
  // Deliver, then the reply to the caller.
  Status Publish(const Request& r, const std::string& event, const std::vector<std::string>& audience,
                 std::string reply, const std::vector<Notice>& notices = {});

  ServiceContext& context_;
};

}  // namespace chat::core
