// Typed settings the core runs with. config/ fills them from YAML; each field states its default. Valid
// ranges are written once, in the tables of config/server_config.cc, which enforce them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat::core {

// How hard a write that gates an acknowledgement is pushed to disk. One setting for the whole store.
enum class Durability {
  // Write-ahead log without fsync (default): survives a crash of the broker process, not of the machine.
  kProcessCrash,
  // fsync the log on every write (about 160 us here): survives power loss.
  kPowerLoss,
};

struct Limits {
  // Longest message text in Unicode code points. Default 100000.
  std::size_t max_message_chars = 100000;
  // Largest history page a client may ask for; larger requests are capped. Default 100.
  std::size_t max_history_page = 100;
  // Sends per second one user may sustain (all devices together). Default 20.
  double send_rate_per_second = 20;
  // Sends a user may burst above that rate. Default 100.
  double send_burst = 100;
  // Devices (distinct client ids) one user may have connected at once. Default 10.
  std::size_t max_devices_per_user = 10;
  // Sessions one user may hold in the broker, connected or not (an offline persistent session costs
  // every message to that user a lookup and a queue entry). A new device past it ends the user's
  // oldest offline session. Default 20.
  std::size_t max_sessions_per_user = 20;
  // Longest MQTT keepalive a client may ask for, in seconds; 0 ("never time out") is refused too, so a
  // silent client cannot hold a connection forever. Default 300.
  std::uint32_t max_keepalive_seconds = 300;
  // Members of one group, its creator included. Default 100.
  std::size_t max_group_members = 100;
  // Longest group name in Unicode code points. Default 64.
  std::size_t max_group_name_chars = 64;
  // Largest sync page a client may ask for; larger requests are capped. Default 500.
  std::size_t max_sync_page = 500;
  // Largest conversation list page a client may ask for; larger requests are capped. Default 100.
  std::size_t max_conversations_page = 100;
  // Largest search page a client may ask for; larger requests are capped. Default 50.
  std::size_t max_search_page = 50;
  // How long after sending its sender may edit or delete a message, in seconds (0: never). A group's
  // owner may delete any message of the group at any time. Default 172800 (48 hours).
  std::uint32_t edit_window_seconds = 172800;
  // Requests of any kind (heartbeats aside) one user may sustain per second, and burst. Default 50 and
  // 200. Sends are limited further by send_rate_per_second.
  double request_rate_per_second = 50;
  double request_burst = 200;
  // Groups one user may belong to. Default 500.
  std::size_t max_groups_per_user = 500;
  // Group invitations one user may have waiting (someone not the adder's contact is invited, not
  // added); past it, inviting them fails for the inviter. Default 20.
  std::size_t max_pending_invites = 20;
  // Bytes of message text and events one page reply (history, sync, conversations) may carry; a page
  // stops before it (but always holds one entry, so paging moves on) and says "more". Bounds what one
  // request costs the broker thread, whatever the page limit. Default 262144.
  std::size_t max_reply_bytes = 262144;
};

struct PresenceSettings {
  // How often clients are asked to heartbeat (documented to clients; informational here). Default 5.
  std::uint32_t heartbeat_seconds = 5;
  // A user whose devices are all gone without logging out, and who sent no heartbeat, is shown offline
  // after this long. Default 30.
  std::uint32_t timeout_seconds = 30;
  // Co-members of groups with at most this many members may subscribe to each other's presence;
  // members of larger groups ask for it on entering the group. Default 50.
  std::size_t push_group_limit = 50;
  // Typing indicators one user may send per second, and burst. Default 2 and 5.
  double typing_rate_per_second = 2;
  double typing_burst = 5;
};

struct PushSettings {
  // Characters of a message shown in a notification. Default 100.
  std::size_t preview_chars = 100;
  // Messages to an offline user within this window become one notification. Default 5.
  std::uint32_t collapse_seconds = 5;
  // A job the bridge has not reported on within this is offered again. Default 60.
  std::uint32_t lease_seconds = 60;
  // Accounts the push bridge logs in with: only they may take jobs and report results. Default none.
  std::vector<std::string> service_accounts;

  // Decided at login (the session's is_service), and nowhere else.
  bool IsServiceAccount(std::string_view user_id) const {
    for (const std::string& account : service_accounts) {
      if (account == user_id) return true;
    }
    return false;
  }
};

// RocksDB's memory: what the store may hold in memory, whatever the size of the data. Each column of
// the store's write buffers is written to disk once full; caches drop what was used least lately.
struct StorageSettings {
  // Block cache: recently read data blocks, and every table's index and filter. Default 64.
  std::uint32_t block_cache_mb = 64;
  // Row cache: recently read values (accounts, idempotency entries). Default 32.
  std::uint32_t row_cache_mb = 32;
  // One write buffer (memtable); at most two exist at once, one filling and one being flushed. Default 64.
  std::uint32_t write_buffer_mb = 64;
};

// How long stored conversations last. Applied off the broker thread (storage/retention.h): expired
// entries go in the store's hourly sweep, not when a request touches them.
struct RetentionSettings {
  // Days a message is kept in history (with its send idempotency entry); 0 keeps messages forever.
  std::uint32_t history_days = 0;
  // Days a sync queue entry is kept; the newest entry of each queue always stays, so its numbering goes
  // on. 0 keeps entries forever.
  std::uint32_t queue_days = 0;
  bool enabled() const { return history_days > 0 || queue_days > 0; }
};

struct AuthSettings {
  // PBKDF2-HMAC-SHA256 iterations for new password hashes. Default 210000.
  // Existing hashes keep the count they were made with.
  std::uint32_t pbkdf2_iterations = 210000;
  // Failed logins of one account, or from one source address, within `failure_window_seconds` after
  // which its password checks are throttled to `throttled_checks_per_second`. Never a lockout: the
  // right password still gets in, only more slowly. Default 5.
  std::uint32_t max_failed_logins = 5;
  // Default 60.
  std::uint32_t failure_window_seconds = 60;
  // Password checks per second for a throttled source address, and for each source address on a
  // throttled account. Default 1.
  double throttled_checks_per_second = 1;
  // Verified logins remembered in memory so a reconnect skips PBKDF2. Default 100000.
  std::size_t credential_cache_entries = 100000;
  // PBKDF2 rounds per second the broker thread itself may spend on first logins, and only while no login
  // is failing (no failure from that address or account, fewer than max_failed_logins node-wide in the
  // window): a stock one-shot client then gets in on its first try. Every other check runs on the hash
  // threads while the client reconnects. 0 keeps hashing off the broker thread entirely.
  // Default 420000 (two first logins a second at 210000 rounds).
  double inline_hash_rounds_per_second = 420000;
  // Threads that check passwords off the broker thread. Default 1.
  std::uint32_t hash_threads = 1;
  // Password checks waiting for a hash thread, all users together; more are told to come back.
  // Default 256.
  std::size_t max_pending_checks = 256;
  // Days a resume token (core/resume_tokens.h) is valid after it was issued; 0 issues none.
  // Default 30.
  std::uint32_t resume_token_days = 30;
  // Resume tokens one user may hold (one per device); a new device's token ends the oldest past this.
  // Default 32.
  std::uint32_t max_resume_tokens_per_user = 32;
};


}  // namespace chat::core
