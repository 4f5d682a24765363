// GroupService: create groups, add and remove members, leave, rename, list. Every change is a group
// event in the sync queue of every member it concerns.
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

  // Handles a group request (group_create ... group_members); like ChatService::Handle, without the
  // error reply, which the caller sends.
  Status Handle(const Caller& caller, RequestOp op, const RequestFields& request, Outbox& outbox);

 private:
  Status Create(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status Add(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status Remove(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status Leave(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status Rename(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status List(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status Members(const Caller& caller, const RequestFields& request, Outbox& outbox);

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
  // Writes `writes` and records `event` in the queue of every user in `audience`, then replies.
  Status Publish(const Caller& caller, WriteSet& writes, const std::string& event,
                 const std::vector<std::string>& audience, Outbox& outbox, std::string reply);

  ServiceContext& context_;
};

}  // namespace chat::core
