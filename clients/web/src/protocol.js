// The wire protocol of docs/PROTOCOL.md as the web client uses it: topic names, names, ids and
// conversation keys. No DOM and no MQTT here, so Node's test runner checks it directly.

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

// User ids and device names share one alphabet (PROTOCOL.md, "Connecting").
export function isValidName(text) {
  return typeof text === 'string' && NAME.test(text);
}

export function clientId(user, device) {
  return `${user}:${device}`;
}

export const topics = {
  request: (op) => `chat/v1/req/${op}`,
  mine: (me) => `chat/v1/user/${me}/#`,
  events: (me) => `chat/v1/user/${me}/msg`,
  replies: (me) => `chat/v1/user/${me}/reply`,
  presence: (user) => `chat/v1/presence/${user}`,
};

const PRESENCE_PREFIX = 'chat/v1/presence/';

// The user a presence topic is about, or null for any other topic.
export function presenceUser(topic) {
  return topic.startsWith(PRESENCE_PREFIX) ? topic.slice(PRESENCE_PREFIX.length) : null;
}

// Message ids are 64-bit decimal strings above 2^53: compare them as BigInt, never as Number or text.
export function compareIds(a, b) {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function maxId(a, b) {
  if (a == null) return b;
  if (b == null) return a;
  return compareIds(a, b) >= 0 ? a : b;
}

// One key per conversation: "u:<peer>" for 1:1 (the other user, or yourself for notes to self) and
// "g:<group id>" for a group. Works for message events, history entries, read events and list entries.
export function conversationKey(me, item) {
  if (item.group) return `g:${item.group}`;
  if (item.peer) return `u:${item.peer}`;
  return `u:${item.from === me ? item.to : item.from}`;
}

// The request fields that address a conversation: {"peer": …} or {"group": …} (send uses "to").
export function conversationTarget(key) {
  return key.startsWith('g:') ? { group: key.slice(2) } : { peer: key.slice(2) };
}

export function sendTarget(key) {
  return key.startsWith('g:') ? { group: key.slice(2) } : { to: key.slice(2) };
}

// A payload as a JSON object, or null when it is not one (the server never sends those, but a
// client must not fall over if something else does).
export function parsePayload(bytes) {
  try {
    const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
    const value = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

// A client message id (cmid): unique per sender, 1-64 printable ASCII characters.
export function newCmid() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// A message's text in pieces, the `@name` mentions apart (PROTOCOL.md, "Mentions": an `@` not after a
// letter or digit, then a user id; a trailing full stop is no part of the name). `names` are the ones
// the server found (`mentions`, plus "all" for `mentions_all`): other `@words` stay plain text.
// Returns [{text, mention}], to be rendered as text nodes.
export function splitMentions(text, names) {
  const wanted = new Set(names);
  const pieces = [];
  let plainFrom = 0;
  for (const match of text.matchAll(/(?<![\p{L}\p{N}])@([A-Za-z0-9_.-]{1,64})/gu)) {
    let name = match[1];
    while (!wanted.has(name) && name.endsWith('.')) name = name.slice(0, -1);
    if (!wanted.has(name)) continue;
    if (match.index > plainFrom) pieces.push({ text: text.slice(plainFrom, match.index), mention: false });
    pieces.push({ text: `@${name}`, mention: true });
    plainFrom = match.index + 1 + name.length;
  }
  if (plainFrom < text.length) pieces.push({ text: text.slice(plainFrom), mention: false });
  return pieces;
}

// Whether a search query has something the server counts as a word (else it answers bad_request).
export function hasSearchWord(query) {
  return /[\p{L}\p{N}]/u.test(query);
}
