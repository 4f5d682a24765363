// What the page knows of the user's conversations: messages by server id (so a message seen live, in
// a sync page and in a history page is kept once), this device's sends in flight by cmid, read
// positions and unread counts. Pure state: the page renders it, Node's test runner checks it.

import { compareIds, conversationKey, maxId } from './protocol.js';

// The server counts unread messages up to this many (PROTOCOL.md, "Read positions").
export const UNREAD_CAP = 1000;
// The conversation list's previews are cut here, as the server cuts `last.text`.
const PREVIEW_CHARS = 200;

// A deletion outranks any edit, a later edit an earlier one: copies of a message seen in different
// orders (a history reply answered before an edit event, say) settle on the newest state.
function changeRank(message) {
  return message.deleted ? Number.MAX_SAFE_INTEGER : message.editedAt ?? 0;
}

// A message of an event, a history page or a search hit as the page keeps it. A tombstone
// (`deleted`) has no text; `mentionsMe` is whether it is a mention of this user by someone else.
export function messageRecord(message, me) {
  const deleted = message.deleted === true;
  const mentions = !deleted && Array.isArray(message.mentions) ? message.mentions.filter((n) => typeof n === 'string') : [];
  const mentionsAll = !deleted && message.mentions_all === true;
  return {
    id: message.id,
    from: message.from,
    text: deleted ? '' : String(message.text ?? ''),
    ts: message.ts,
    cmid: message.cmid,
    editedAt: typeof message.edited_at === 'number' ? message.edited_at : null,
    deleted,
    mentions,
    mentionsAll,
    mentionsMe: !deleted && message.from !== me && (message.mentioned === true || mentionsAll || mentions.includes(me)),
  };
}

// What the conversation list shows of a message: its first characters, not a 100,000-character text.
function previewRecord(record) {
  const chars = [...record.text];
  const text = chars.length > PREVIEW_CHARS ? `${chars.slice(0, PREVIEW_CHARS).join('')}…` : record.text;
  return { id: record.id, from: record.from, ts: record.ts, text, deleted: record.deleted, editedAt: record.editedAt };
}

export class Conversation {
  constructor(key) {
    this.key = key;
    this.peer = key.startsWith('u:') ? key.slice(2) : null;
    this.group = key.startsWith('g:') ? key.slice(2) : null;
    this.name = this.peer ?? 'Group';
    this.lastId = null; // newest message id known
    this.readUpTo = '0'; // this user's read position
    this.unread = 0;
    this.unreadCapped = false; // the server stopped counting: at least `unread` are unread
    this.messages = new Map(); // id -> messageRecord
    this.last = null; // preview of the newest message: {id, from, ts, text, deleted, editedAt}
    this.activity = 0; // place in the list: larger is newer (the server's order, then live messages)
    this.pending = new Map(); // cmid -> {cmid, text, state: 'sending'|'failed', error: {code, message}, since}
    this.historyLoaded = false; // the newest history page has been merged
    this.hasOlder = true; // the server has older messages than the oldest loaded
    // After a jump into the middle of a conversation (history `around`): the newest id of the loaded
    // window, whose newer messages are still to be paged in. null: loaded up to the newest. Messages
    // beyond it (live ones) are kept but not shown until the pages between have been loaded.
    this.loadedUpTo = null;
    this.member = true; // false once this user left or was removed from the group
    // Counts the times the loaded messages were dropped for another stretch: a history page asked
    // for before then belongs to the old stretch and is not merged (it could leave a hole).
    this.generation = 0;
  }

  dropLoaded() {
    this.messages.clear();
    this.generation++;
  }

  oldestId() {
    let oldest = null;
    for (const id of this.messages.keys()) if (oldest === null || compareIds(id, oldest) < 0) oldest = id;
    return oldest;
  }

  get hasNewer() {
    return this.loadedUpTo !== null;
  }

  // Whether the timeline shows this stored message (with what is around it loaded as well).
  shows(id) {
    return this.historyLoaded && this.messages.has(id) && (this.loadedUpTo === null || compareIds(id, this.loadedUpTo) <= 0);
  }

  // The newest message the user can have seen here: what a read mark may cover.
  newestShownId() {
    return this.loadedUpTo ?? this.lastId;
  }

  // Stored messages oldest first, then this device's unacknowledged sends in the order typed; in a
  // window short of the newest, only the window (sends show once the newest is back).
  timeline() {
    const stored = [...this.messages.values()].sort((a, b) => compareIds(a.id, b.id));
    if (this.loadedUpTo === null) return [...stored, ...this.pending.values()];
    return stored.filter((m) => compareIds(m.id, this.loadedUpTo) <= 0);
  }

  notePreview(record) {
    if (this.last === null || compareIds(record.id, this.last.id) > 0) this.last = previewRecord(record);
    else if (record.id === this.last.id && changeRank(record) >= changeRank(this.last)) this.last = previewRecord(record);
  }
}

export class ConversationStore {
  constructor(me) {
    this.me = me;
    this.conversations = new Map();
    this.invites = new Map(); // group id -> {group, name, by}: invitations to groups, waiting for an answer
    this.clock = 0; // the last activity value given out
  }

  get(key) {
    let conversation = this.conversations.get(key);
    if (!conversation) {
      conversation = new Conversation(key);
      this.conversations.set(key, conversation);
    }
    return conversation;
  }

  find(key) {
    return this.conversations.get(key) ?? null;
  }

  // Moves a conversation to the top of the list (a message of it was delivered).
  touch(conversation) {
    conversation.activity = ++this.clock;
  }

  // A whole `conversations` reply (all its pages, newest first): the list takes the server's order.
  applyList(entries) {
    const top = this.clock + entries.length;
    entries.forEach((entry, i) => {
      this.applyListEntry(entry).activity = top - i;
    });
    this.clock = top;
  }

  // One entry of a `conversations` reply: the server's read position and count replace ours (a read
  // mark this device sent but the server never got is then sent again).
  applyListEntry(entry) {
    const conversation = this.get(conversationKey(this.me, entry));
    if (entry.name) conversation.name = entry.name;
    if (entry.last?.id) conversation.notePreview(messageRecord(entry.last, this.me));
    conversation.lastId = maxId(conversation.lastId, entry.last_id ?? null);
    conversation.readUpTo = entry.read_up_to ?? '0';
    conversation.unread = Math.min(UNREAD_CAP, Number(entry.unread) || 0);
    conversation.unreadCapped = entry.unread_capped === true || conversation.unread >= UNREAD_CAP;
    return conversation;
  }

  // A message from a live event, a sync page or a history page. Returns the conversation and whether
  // the message was new to the page; a known id changes only to a later state (edited, deleted).
  addMessage(message, { live = true } = {}) {
    const conversation = this.get(conversationKey(this.me, message));
    const record = messageRecord(message, this.me);
    conversation.notePreview(record);
    if (live) this.touch(conversation);
    if (conversation.messages.has(message.id)) {
      this.replaceIfLater(conversation, record);
      return { conversation, added: false };
    }
    conversation.messages.set(message.id, record);
    if (message.from === this.me && message.cmid) conversation.pending.delete(message.cmid);
    conversation.lastId = maxId(conversation.lastId, message.id);
    const unreadFromOthers = message.from !== this.me && compareIds(message.id, conversation.readUpTo) > 0;
    if (live && unreadFromOthers) conversation.unread = Math.min(UNREAD_CAP, conversation.unread + 1);
    return { conversation, added: true };
  }

  replaceIfLater(conversation, record) {
    const known = conversation.messages.get(record.id);
    if (!known || changeRank(record) <= changeRank(known)) return;
    conversation.messages.set(record.id, { ...record, cmid: known.cmid ?? record.cmid });
  }

  // An `edit` or `delete` event (PROTOCOL.md, "Editing and deleting"): it shows the message as it now
  // is. A message the page has not loaded is not added (it would be a hole in the timeline); history
  // brings it as it is.
  applyChange(event) {
    const conversation = this.get(conversationKey(this.me, event));
    const record = messageRecord(event, this.me);
    this.replaceIfLater(conversation, record);
    if (conversation.last?.id === record.id) conversation.notePreview(record);
    return conversation;
  }

  // A history page (PROTOCOL.md, "Fetching history"): 'newest' (the first page), 'older' (newest first,
  // `before`) or 'newer' (oldest first, `after` the loaded window's end).
  // `generation`: the conversation's when the page was asked for (a page of an older one is dropped).
  addHistoryPage(key, page, { direction, generation = undefined }) {
    const conversation = this.get(key);
    if (generation !== undefined && generation !== conversation.generation) return conversation;
    const messages = page.messages ?? [];
    for (const message of messages) this.addMessage(message, { live: false });
    if (direction === 'newest') conversation.historyLoaded = true;
    if (direction !== 'newer') {
      if (!page.more) conversation.hasOlder = false;
    } else if (page.more && messages.length) {
      conversation.loadedUpTo = maxId(conversation.loadedUpTo, messages[messages.length - 1].id);
    } else {
      conversation.loadedUpTo = null;
    }
    return conversation;
  }

  // The window around one message (history with `around`, oldest first). It joins what is loaded when
  // the two overlap (or the window reaches the newest); otherwise it replaces it, since between them
  // would be a hole, and the window's edges are then where paging older and newer go on.
  addAroundPage(key, page) {
    const conversation = this.get(key);
    const messages = page.messages ?? [];
    if (messages.length === 0) return conversation;
    const first = messages[0].id;
    const last = messages[messages.length - 1].id;
    const oldest = conversation.oldestId();
    const overlaps = conversation.historyLoaded && oldest !== null
      && (!conversation.hasOlder || !page.more_after || compareIds(last, oldest) >= 0)
      && (!page.more_before || conversation.loadedUpTo === null || compareIds(first, conversation.loadedUpTo) <= 0);
    if (overlaps) {
      if (!page.more_before) conversation.hasOlder = false;
      if (!page.more_after) conversation.loadedUpTo = null;
      else if (conversation.loadedUpTo !== null) conversation.loadedUpTo = maxId(conversation.loadedUpTo, last);
    } else {
      conversation.dropLoaded();
      conversation.hasOlder = page.more_before === true;
      conversation.loadedUpTo = page.more_after ? last : null;
      conversation.historyLoaded = true;
    }
    for (const message of messages) this.addMessage(message, { live: false });
    return conversation;
  }

  // Back to the newest messages (opening the conversation again, or sending from a window): what is
  // loaded is dropped and the newest page fetched afresh.
  showNewest(key) {
    const conversation = this.get(key);
    if (conversation.loadedUpTo === null) return conversation;
    conversation.dropLoaded();
    conversation.loadedUpTo = null;
    conversation.historyLoaded = false;
    conversation.hasOlder = true;
    return conversation;
  }

  startSend(key, cmid, text) {
    const conversation = this.get(key);
    conversation.pending.set(cmid, { cmid, text, state: 'sending', error: null, since: Date.now() });
    return conversation;
  }

  // The server stored the send: it becomes a message with its server id (unless its event came first).
  ackSend(ack) {
    for (const conversation of this.conversations.values()) {
      const pending = conversation.pending.get(ack.cmid);
      if (!pending) continue;
      conversation.pending.delete(ack.cmid);
      const record = messageRecord({ id: ack.id, from: this.me, text: pending.text, ts: ack.ts, cmid: ack.cmid }, this.me);
      if (!conversation.messages.has(ack.id)) conversation.messages.set(ack.id, record);
      conversation.lastId = maxId(conversation.lastId, ack.id);
      conversation.notePreview(record);
      this.touch(conversation);
      return conversation;
    }
    return null;
  }

  failSend(cmid, error) {
    for (const conversation of this.conversations.values()) {
      const pending = conversation.pending.get(cmid);
      if (!pending) continue;
      pending.state = 'failed';
      pending.error = error;
      return conversation;
    }
    return null;
  }

  retrySend(key, cmid) {
    const pending = this.find(key)?.pending.get(cmid);
    if (!pending) return null;
    pending.state = 'sending';
    pending.error = null;
    pending.since = Date.now();
    return pending;
  }

  // Sends still waiting for the server, for resending (same cmid) after a reconnect or a timeout.
  *sending() {
    for (const conversation of this.conversations.values()) {
      for (const pending of conversation.pending.values()) {
        if (pending.state === 'sending') yield { conversation, pending };
      }
    }
  }

  // Sends not yet stored, to keep across a reload (a page closed before the ack must not lose them).
  pendingSnapshot() {
    const list = [];
    for (const { key, pending } of this.conversations.values()) {
      for (const p of pending.values()) list.push({ key, cmid: p.cmid, text: p.text, state: p.state, error: p.error });
    }
    return list;
  }

  restorePending(list) {
    for (const p of Array.isArray(list) ? list : []) {
      if (typeof p?.key !== 'string' || !/^[ug]:/.test(p.key) || typeof p.cmid !== 'string' || typeof p.text !== 'string') continue;
      const conversation = this.get(p.key);
      const state = p.state === 'failed' ? 'failed' : 'sending';
      conversation.pending.set(p.cmid, { cmid: p.cmid, text: p.text, state, error: p.error ?? null, since: 0 });
    }
  }

  // A read event (from any of this user's devices) or this device marking read. Positions only move
  // forward; the unread count is recounted from the messages the page holds.
  applyRead(key, upTo) {
    const conversation = this.get(key);
    if (compareIds(upTo, conversation.readUpTo) <= 0) return conversation;
    conversation.readUpTo = upTo;
    if (conversation.lastId === null || compareIds(upTo, conversation.lastId) >= 0) {
      conversation.unread = 0;
      conversation.unreadCapped = false;
    } else if (conversation.historyLoaded) {
      let unread = 0;
      for (const m of conversation.messages.values()) {
        if (m.from !== this.me && compareIds(m.id, upTo) > 0) unread++;
      }
      conversation.unread = Math.min(unread, conversation.unread);
    }
    return conversation;
  }

  // The invitations of a `groups` reply replace what is known (one answered elsewhere is gone).
  setInvites(invites) {
    this.invites = new Map((invites ?? []).map((i) => [i.group, { group: i.group, name: i.name, by: i.by }]));
  }

  // A group event (PROTOCOL.md, "Groups"): names, whether this user is still a member, and invitations.
  // Returns the group's conversation, or null for an invitation.
  applyGroupEvent(event) {
    const aboutMe = (event.users ?? []).includes(this.me);
    // An invitation is no conversation yet: it waits in `invites` until this user joins or declines.
    if (event.event === 'invited' || event.event === 'declined') {
      if (!aboutMe) return null;
      if (event.event === 'invited') this.invites.set(event.group, { group: event.group, name: event.name, by: event.by });
      else this.invites.delete(event.group);
      return null;
    }
    if (aboutMe && event.event === 'joined') this.invites.delete(event.group);
    const conversation = this.get(`g:${event.group}`);
    if (event.name) conversation.name = event.name;
    if (aboutMe && (event.event === 'removed' || event.event === 'left')) conversation.member = false;
    if (aboutMe && ['added', 'created', 'joined'].includes(event.event)) conversation.member = true;
    return conversation;
  }

  // After skipping a long backlog: what the page holds may have holes, so history is fetched afresh.
  forgetMessages() {
    for (const conversation of this.conversations.values()) {
      conversation.dropLoaded();
      conversation.historyLoaded = false;
      conversation.hasOlder = true;
      conversation.loadedUpTo = null;
    }
  }

  // The list: in the server's order, with live messages moving their conversation to the top; among
  // those it never placed, newest message first and ones never written in (a chat just opened) last.
  sorted() {
    return [...this.conversations.values()].sort((a, b) => {
      if (a.activity !== b.activity) return b.activity - a.activity;
      if (a.lastId === null || b.lastId === null) return (a.lastId === null) - (b.lastId === null);
      return compareIds(b.lastId, a.lastId);
    });
  }
}
