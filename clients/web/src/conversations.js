// What the page knows of the user's conversations: messages by server id (so a message seen live, in
// a sync page and in a history page is kept once), this device's sends in flight by cmid, read
// positions and unread counts. Pure state: the page renders it, Node's test runner checks it.

import { compareIds, conversationKey, maxId } from './protocol.js';

// The server counts unread messages up to this many (PROTOCOL.md, "Read positions").
export const UNREAD_CAP = 1000;

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
    this.messages = new Map(); // id -> {id, from, text, ts, cmid}
    this.pending = new Map(); // cmid -> {cmid, text, state: 'sending'|'failed', error: {code, message}, since}
    this.historyLoaded = false; // the newest history page has been merged
    this.hasOlder = true; // the server has older messages than the oldest loaded
    this.member = true; // false once this user left or was removed from the group
  }

  oldestId() {
    let oldest = null;
    for (const id of this.messages.keys()) if (oldest === null || compareIds(id, oldest) < 0) oldest = id;
    return oldest;
  }

  // Stored messages oldest first, then this device's unacknowledged sends in the order typed.
  timeline() {
    const stored = [...this.messages.values()].sort((a, b) => compareIds(a.id, b.id));
    return [...stored, ...this.pending.values()];
  }
}

export class ConversationStore {
  constructor(me) {
    this.me = me;
    this.conversations = new Map();
    this.invites = new Map(); // group id -> {group, name, by}: invitations to groups, waiting for an answer
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

  // One entry of a `conversations` reply: the server's read position and count replace ours (a read
  // mark this device sent but the server never got is then sent again).
  applyListEntry(entry) {
    const conversation = this.get(conversationKey(this.me, entry));
    if (entry.name) conversation.name = entry.name;
    conversation.lastId = maxId(conversation.lastId, entry.last_id ?? null);
    conversation.readUpTo = entry.read_up_to ?? '0';
    conversation.unread = Math.min(UNREAD_CAP, Number(entry.unread) || 0);
    conversation.unreadCapped = entry.unread_capped === true || conversation.unread >= UNREAD_CAP;
    return conversation;
  }

  // A message from a live event, a sync page or a history page. Returns the conversation and whether
  // the message was new to the page; a known id changes nothing.
  addMessage(message, { live = true } = {}) {
    const conversation = this.get(conversationKey(this.me, message));
    if (conversation.messages.has(message.id)) return { conversation, added: false };
    conversation.messages.set(message.id, {
      id: message.id,
      from: message.from,
      text: message.text,
      ts: message.ts,
      cmid: message.cmid,
    });
    if (message.from === this.me && message.cmid) conversation.pending.delete(message.cmid);
    conversation.lastId = maxId(conversation.lastId, message.id);
    const unreadFromOthers = message.from !== this.me && compareIds(message.id, conversation.readUpTo) > 0;
    if (live && unreadFromOthers) conversation.unread = Math.min(UNREAD_CAP, conversation.unread + 1);
    return { conversation, added: true };
  }

  // A history page (PROTOCOL.md, "Fetching history"), newest first or oldest first.
  addHistoryPage(key, page, { newest }) {
    const conversation = this.get(key);
    for (const message of page.messages ?? []) this.addMessage(message, { live: false });
    if (newest) conversation.historyLoaded = true;
    if (!page.more) conversation.hasOlder = false;
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
      if (!conversation.messages.has(ack.id)) {
        conversation.messages.set(ack.id, { id: ack.id, from: this.me, text: pending.text, ts: ack.ts, cmid: ack.cmid });
      }
      conversation.lastId = maxId(conversation.lastId, ack.id);
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

  // Conversations with activity, newest first; ones never written in (a chat just opened) last.
  // After skipping a long backlog: what the page holds may have holes, so history is fetched afresh.
  forgetMessages() {
    for (const conversation of this.conversations.values()) {
      conversation.messages.clear();
      conversation.historyLoaded = false;
      conversation.hasOlder = true;
    }
  }

  sorted() {
    return [...this.conversations.values()].sort((a, b) => {
      if (a.lastId === null || b.lastId === null) return (a.lastId === null) - (b.lastId === null);
      return compareIds(b.lastId, a.lastId);
    });
  }
}
