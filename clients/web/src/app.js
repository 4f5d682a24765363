// The chat page: sign-in, conversation list, contacts, groups and the open conversation. State lives in
// ConversationStore and SyncCursor; this file turns user actions into requests and state into DOM.
// Text from the network only ever goes into textContent, never into HTML.

import { ChatConnection } from './connection.js';
import { ConversationStore, messageRecord } from './conversations.js';
import { claimDevice } from './device.js';
import { MentionList } from './mentions.js';
import {
  compareIds, conversationKey, conversationTarget, hasSearchWord, isValidName, newCmid, sendTarget, splitMentions,
} from './protocol.js';
import { SyncCursor } from './sync-cursor.js';

const SYNC_PAGE = 500; // the server's default max_sync_page
const SKIP_BACKLOG_OVER = 2000; // longer backlogs are skipped: the list and history are refetched instead
const HISTORY_PAGE = 50;
const JUMP_CONTEXT = 20; // messages either side of a message jumped to
const SEARCH_DELAY_MS = 300; // typing pauses this long before a search is asked
const HIGHLIGHT_MS = 4000; // how long a message jumped to stays highlighted
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const RESEND_AFTER_MS = 15000;
const SESSION_KEY = 'chat.session';
const RETRYABLE_ERRORS = new Set(['rate_limited', 'storage_error']);

const $ = (id) => document.getElementById(id);
const config = await (await fetch('/config.json')).json();

let session = null; // the signed-in user's state; null when signed out

function readJson(storage, key, fallback) {
  try {
    return JSON.parse(storage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

// ---------------------------------------------------------------------------------------------------
// Signing in and out

// `resuming`: signing in again after a reload, with the saved session; keep trying while the server
// cannot be reached, rather than fall back to the sign-in form.
async function signIn(user, password, { resuming = false } = {}) {
  const { device, release } = await claimDevice(user, localStorage, navigator.locks, sessionStorage);
  const s = {
    me: user,
    device,
    releaseDevice: release,
    resuming,
    store: new ConversationStore(user),
    cursor: new SyncCursor(localStorage, user, device),
    openKey: null,
    contacts: new Map(), // user -> 'contact' | 'outgoing' | 'incoming'
    presence: new Map(), // user -> {state, lastActiveAt}
    groups: new Map(), // group id -> {owner, members}
    typing: new Map(), // conversation key -> {from, until}
    elements: new Map(), // message element per timeline key, for the open conversation
    syncing: false,
    catchUpFailures: 0,
    catchUpRetry: null,
    buffered: [], // live events that arrived during a sync
    lastTypingSentAt: 0,
    loadingHistory: new Set(),
    editing: null, // {key, id, draft}: the own message being edited in place
    jumpedTo: null, // {key, id}: the message a search hit or a mention opened, highlighted for a moment
    scrollToId: null, // a message to bring into view at the next render
    search: { query: '', hits: [], more: false, nextBefore: null, asked: 0, timer: null },
    mentions: new MentionList(user),
    groupRefreshers: new Map(),
    signedIn: false,
  };
  s.refreshContacts = coalesced(() => fetchContacts(s));
  s.pendingKey = `chat.pending.${user}`; // sessionStorage is the tab's own: the tab's unsent messages
  s.store.restorePending(readJson(sessionStorage, s.pendingKey, []));
  s.conn = new ChatConnection(
    { url: config.websocketUrl, user, password, device, heartbeatSeconds: config.heartbeatSeconds },
    {
      connected: () => onConnected(s, password),
      disconnected: ({ retryInMs, refused, checking }) => onDisconnected(s, retryInMs, refused, checking),
      refused: ({ wasSignedIn }) => onRefused(s, wasSignedIn),
      event: (event) => onEvent(s, event),
      sendResult: (reply) => onSendResult(s, reply),
      presence: (payload) => onPresence(s, payload),
    },
  );
  session = s;
  s.resendTimer = setInterval(() => resendStale(s), 5000);
  setStatus('Connecting…', false);
  s.conn.start();
}

function onConnected(s, password) {
  if (session !== s) return;
  if (!s.signedIn) {
    s.signedIn = true;
    // Kept for this tab only, so that a reload stays signed in; closing the tab or logging out drops it.
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ user: s.me, password }));
    showChatView(s);
  }
  setStatus(`Online as ${s.me}`, true);
  catchUp(s);
}

function onDisconnected(s, retryInMs, refused, checking) {
  if (session !== s) return;
  if (checking) {
    setStatus('Checking the password…', false);
    return;
  }
  if (!s.signedIn && !s.resuming) {
    // A first sign-in that cannot reach the server: say so, rather than keep the form waiting.
    endSession(s);
    s.conn.logout();
    showLoginView(`Cannot reach the chat server (${config.websocketUrl}). Try again in a moment.`);
    return;
  }
  const why = refused ? 'The server refused the login' : 'Connection lost';
  setStatus(`${why}. Reconnecting in ${Math.ceil(retryInMs / 1000)} s…`, false);
}

function onRefused(s, wasSignedIn) {
  if (session !== s) return;
  endSession(s);
  showLoginView(
    wasSignedIn
      ? 'The server keeps refusing the login (password changed, account removed, or too many devices). Sign in again.'
      : 'Sign-in refused: wrong user name or password, or too many devices.',
  );
}

async function signOut() {
  const s = session;
  if (!s) return;
  sessionStorage.removeItem(s.pendingKey); // logging out gives up what was not sent
  endSession(s);
  showLoginView('');
  await s.conn.logout();
}

function endSession(s) {
  clearInterval(s.resendTimer);
  clearTimeout(s.catchUpRetry);
  sessionStorage.removeItem(SESSION_KEY);
  s.releaseDevice();
  session = null;
}

// ---------------------------------------------------------------------------------------------------
// Catching up: the sync rules of PROTOCOL.md ("Sync")

async function catchUp(s) {
  if (s.syncing) return;
  s.syncing = true;
  clearTimeout(s.catchUpRetry);
  s.catchUpRetry = null;
  let skipped = false;
  try {
    skipped = await syncFromCursor(s);
    s.catchUpFailures = 0;
  } catch (error) {
    s.syncing = false;
    if (error.code === 'disconnected' || session !== s) return; // the next connect catches up
    // Busy or slow server (rate_limited, timeout): try again later rather than wait for the next event.
    const delay = Math.min(30000, 2000 * 2 ** s.catchUpFailures++);
    setStatus(`Could not catch up (${error.message}); trying again in ${Math.round(delay / 1000)} s`, false);
    s.catchUpRetry = setTimeout(() => {
      s.catchUpRetry = null;
      if (session === s && s.conn.connected) catchUp(s);
    }, delay);
    return;
  } finally {
    s.syncing = false;
  }
  if (session !== s) return;
  if (s.conn.connected) setStatus(`Online as ${s.me}`, true);
  if (skipped) s.store.forgetMessages();
  // Events that came live during the sync: duplicates now, or the next ones, or a new gap.
  const buffered = s.buffered;
  s.buffered = [];
  for (const event of buffered) onSequencedEvent(s, event);
  resendPending(s, () => true);
  const open = s.openKey ? s.store.get(s.openKey) : null;
  await Promise.allSettled([
    refreshConversations(s),
    s.refreshContacts(),
    open?.group ? refreshGroup(s, open.group) : null,
    open && (skipped || !open.historyLoaded) ? loadHistory(s, open.key, 'newest') : null,
    // An open Mentions panel whose list was lost with the connection asks again.
    s.mentions.isOpen && !s.mentions.loaded ? loadMentions(s, { older: false }) : null,
  ]);
  render(s);
  markReadIfSeen(s); // a read mark lost with the old connection is sent again
}

// Returns true when the backlog was skipped rather than replayed.
async function syncFromCursor(s) {
  if (!s.cursor.known) {
    const head = await s.conn.request('sync', { after: 0, limit: 1 });
    s.cursor.resetTo(head.last_seq ?? 0);
    return false;
  }
  for (;;) {
    const page = await s.conn.request('sync', { after: s.cursor.seq, limit: SYNC_PAGE });
    const last = page.last_seq ?? 0;
    if (last < s.cursor.seq) {
      s.cursor.resetTo(last); // the server's data was reset under this device
      return true;
    }
    if (page.truncated || last - s.cursor.seq > SKIP_BACKLOG_OVER) {
      s.cursor.resetTo(last);
      return true;
    }
    for (const event of page.events ?? []) {
      if (typeof event?.seq === 'number' && event.seq > s.cursor.seq) {
        applyEvent(s, event);
        s.cursor.advanceTo(event.seq);
      }
    }
    if (!page.more) return false;
  }
}

function onEvent(s, event) {
  if (session !== s) return;
  if (event.type === 'typing') {
    showTyping(s, event);
    return;
  }
  if (typeof event.seq !== 'number') return;
  if (s.syncing) s.buffered.push(event);
  else onSequencedEvent(s, event);
}

function onSequencedEvent(s, event) {
  switch (s.cursor.classify(event.seq)) {
    case 'apply':
      applyEvent(s, event);
      s.cursor.advanceTo(event.seq);
      break;
    case 'duplicate':
      break;
    case 'gap':
      if (!s.catchUpRetry) catchUp(s); // else the scheduled retry will
      break;
  }
}

// An event the page cannot use (a newer server's, say) is logged and passed over: the sync position
// moves on, so one odd event cannot stop every later one.
function applyEvent(s, event) {
  try {
    applyEventTo(s, event);
  } catch (error) {
    console.error('chat: could not apply event', event, error);
  }
  scheduleRender(s);
}

function applyEventTo(s, event) {
  switch (event.type) {
    case 'message': {
      const { conversation } = s.store.addMessage(event);
      if (event.from !== s.me) s.typing.delete(conversation.key);
      if (conversation.key === s.openKey) queueMicrotask(() => markReadIfSeen(s));
      s.mentions.noteMessage(event);
      break;
    }
    case 'read':
      s.store.applyRead(conversationKey(s.me, event), event.up_to);
      break;
    case 'group':
      s.store.applyGroupEvent(event);
      applyMembershipChange(s, event);
      break;
    case 'contact':
      applyContactEvent(s, event);
      break;
    case 'edit':
    case 'delete':
      s.store.applyChange(event);
      s.mentions.applyChange(event);
      break;
    case 'sent': // this device's own send: ackSend stored it
      break;
  }
}

// ---------------------------------------------------------------------------------------------------
// Requests

// "12", or "12+" when the server stopped counting there.
function unreadText(conversation) {
  return `${conversation.unread}${conversation.unreadCapped ? '+' : ''}`;
}

// The server pages the list (newest first) once it passes its reply budget; a bounded number of pages.
const MAX_CONVERSATION_PAGES = 20;

async function refreshConversations(s) {
  const groups = await s.conn.request('groups');
  s.store.setInvites(groups.invites);
  let before = null;
  const entries = [];
  for (let page = 0; page < MAX_CONVERSATION_PAGES; page++) {
    const reply = await s.conn.request('conversations', before ? { before } : {});
    entries.push(...(reply.conversations ?? []));
    if (!reply.more || !reply.next_before) break;
    before = reply.next_before;
  }
  s.store.applyList(entries);
  scheduleRender(s);
}

// Runs `task` now, or once more after the run in flight: a burst of events makes at most two requests.
function coalesced(task) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await task().catch(() => {});
      } while (again);
      running = null;
    })();
    return running;
  };
  return run;
}

async function fetchContacts(s) {
  const reply = await s.conn.request('contacts');
  s.contacts = new Map((reply.contacts ?? []).filter((c) => typeof c.user === 'string').map((c) => [c.user, c.state]));
  watchContactsPresence(s);
}

function watchContactsPresence(s) {
  s.conn.watchPresence([...s.contacts].filter(([, state]) => state === 'contact').map(([user]) => user));
  scheduleRender(s);
}

const CONTACT_EVENT_STATES = { incoming: 'incoming', outgoing: 'outgoing', added: 'contact' };

// A contact event says the new state itself, so no request is needed (PROTOCOL.md, "Contacts").
function applyContactEvent(s, event) {
  if (typeof event.user !== 'string') return;
  const state = CONTACT_EVENT_STATES[event.event];
  if (state) s.contacts.set(event.user, state);
  else if (event.event === 'removed') s.contacts.delete(event.user);
  watchContactsPresence(s);
}

// The member list, and who of them is online right now: asked once when the group is opened or
// changes (PROTOCOL.md, "Presence": the way that works for groups of any size).
async function fetchGroup(s, group) {
  try {
    const reply = await s.conn.request('group_members', { group });
    const online = await s.conn.request('presence', { group });
    const onlineNow = (online.users ?? []).filter((u) => u.state === 'online').map((u) => u.user);
    s.groups.set(group, { owner: reply.owner, members: reply.members ?? [], online: new Set(onlineNow) });
    if (reply.name) s.store.get(`g:${group}`).name = reply.name;
  } catch (error) {
    if (error.code === 'not_found') s.store.get(`g:${group}`).member = false;
  }
  scheduleRender(s);
}

function refreshGroup(s, group) {
  if (!s.groupRefreshers.has(group)) s.groupRefreshers.set(group, coalesced(() => fetchGroup(s, group)));
  return s.groupRefreshers.get(group)();
}

// Member lists follow group events at once, and the open group's is then asked for again.
function applyMembershipChange(s, event) {
  const info = s.groups.get(event.group);
  if (!info) return;
  const users = Array.isArray(event.users) ? event.users : [];
  if (event.event === 'created') info.members = [...users];
  else if (event.event === 'added' || event.event === 'joined') info.members = [...new Set([...info.members, ...users])];
  else if (event.event === 'removed' || event.event === 'left') info.members = info.members.filter((m) => !users.includes(m));
  // The open group's list is asked for again: a fetch already in flight may have been answered before
  // this change, and its reply would otherwise undo it (refreshes are coalesced: at most one more).
  if (s.openKey === `g:${event.group}` && ['added', 'joined', 'removed', 'left'].includes(event.event)) {
    refreshGroup(s, event.group);
  }
}

// The request for one page of history: 'newest', 'older' than the oldest loaded, or 'newer' than a
// jumped-to window's end. Null when there is nothing to ask.
function historyRequest(conversation, direction) {
  const request = { ...conversationTarget(conversation.key), limit: HISTORY_PAGE };
  if (direction === 'older') {
    if (!conversation.hasOlder) return null;
    const oldest = conversation.oldestId();
    if (oldest) request.before = oldest;
  } else if (direction === 'newer') {
    if (!conversation.hasNewer) return null;
    Object.assign(request, { after: conversation.loadedUpTo, order: 'oldest_first' });
  }
  return request;
}

async function loadHistory(s, key, direction) {
  const conversation = s.store.get(key);
  const loading = `${key} ${direction}`;
  const request = historyRequest(conversation, direction);
  if (s.loadingHistory.has(loading) || !request) return;
  s.loadingHistory.add(loading);
  const generation = conversation.generation;
  try {
    const page = await s.conn.request('history', request);
    if (session !== s) return;
    s.store.addHistoryPage(key, page, { direction, generation });
    if (key === s.openKey) {
      s.keepScrollOnPrepend = direction === 'older';
      s.keepScrollOnAppend = direction === 'newer';
    }
  } catch (error) {
    if (session !== s) return;
    if (error.code === 'unknown_peer' || error.code === 'not_found') {
      if (conversation.messages.size === 0 && conversation.pending.size === 0) s.store.conversations.delete(key);
      if (s.openKey === key) s.openKey = null;
      showError('sidebar-error', error.message);
    } else if (error.code !== 'disconnected') {
      showError('conversation-error', `Could not load messages: ${error.message}`);
    }
  } finally {
    s.loadingHistory.delete(loading);
  }
  render(s);
  markReadIfSeen(s);
}

function sendMessage(s, key, text) {
  // A send from a window back in time returns to the newest messages, where it will show.
  if (s.store.get(key).hasNewer) {
    s.store.showNewest(key);
    loadHistory(s, key, 'newest');
  }
  const cmid = newCmid();
  s.store.startSend(key, cmid, text);
  s.conn.publish('send', { ...sendTarget(key), text, cmid }); // waits for a reconnect if offline
  render(s, { toBottom: true });
}

function onSendResult(s, reply) {
  if (reply.type === 'ack') {
    s.store.ackSend(reply);
    // The ack stands for this device's copy of the message (no event comes for it): its seq moves the
    // sync position as the event would have.
    if (typeof reply.seq === 'number') onEvent(s, { type: 'sent', seq: reply.seq });
  }
  else if (reply.type === 'error' && reply.cmid) s.store.failSend(reply.cmid, { code: reply.code, message: reply.message || reply.code });
  scheduleRender(s);
}

// A send is repeated with the same cmid, so the server stores it once whatever happened to the first.
function resendPending(s, isDue) {
  for (const { conversation, pending } of s.store.sending()) {
    if (!isDue(pending)) continue;
    pending.since = Date.now();
    s.conn.publish('send', { ...sendTarget(conversation.key), text: pending.text, cmid: pending.cmid });
  }
}

function resendStale(s) {
  if (s.conn.connected && !s.syncing) resendPending(s, (p) => Date.now() - p.since > RESEND_AFTER_MS);
}

function markReadIfSeen(s) {
  const conversation = s.openKey && s.store.find(s.openKey);
  const upTo = conversation?.newestShownId();
  if (!upTo || document.visibilityState !== 'visible') return;
  if (compareIds(upTo, conversation.readUpTo) <= 0 || !s.conn.connected) return;
  s.store.applyRead(conversation.key, upTo);
  s.conn.request('read', { ...conversationTarget(conversation.key), up_to: upTo }).catch(() => {});
  scheduleRender(s);
}

function onPresence(s, payload) {
  if (payload.type !== 'presence' || typeof payload.user !== 'string') return;
  s.presence.set(payload.user, { state: payload.state, lastActiveAt: payload.last_active_at });
  scheduleRender(s);
}

function showTyping(s, event) {
  const key = conversationKey(s.me, event.group ? event : { from: event.from, to: s.me });
  s.typing.set(key, { from: event.from, until: Date.now() + TYPING_SHOWN_MS });
  scheduleRender(s);
  setTimeout(() => scheduleRender(s), TYPING_SHOWN_MS + 50);
}

function sendTyping(s) {
  const now = Date.now();
  if (!s.openKey || now - s.lastTypingSentAt < TYPING_SEND_EVERY_MS) return;
  s.lastTypingSentAt = now;
  s.conn.publish('typing', sendTarget(s.openKey));
}

// A request from a form: its error is shown next to the form. Null when it failed or when the user
// signed out meanwhile (the answer then belongs to nobody on screen).
async function ask(s, op, body, errorId) {
  try {
    const reply = await s.conn.request(op, body);
    return session === s ? reply : null;
  } catch (error) {
    if (session === s) showError(errorId, error.message);
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// Opening a conversation

// `at`: a message id to open the conversation at (a search hit, a mention) rather than at the newest messages.
function openConversation(s, key, { at = null } = {}) {
  if (session !== s) return;
  s.openKey = key;
  s.elements = new Map();
  s.editing = null;
  $('message-list').replaceChildren();
  showError('conversation-error', '');
  const conversation = at ? s.store.get(key) : s.store.showNewest(key);
  render(s, { toBottom: !at });
  if (!at && !conversation.historyLoaded) loadHistory(s, key, 'newest');
  if (conversation.group) refreshGroup(s, conversation.group);
  markReadIfSeen(s);
  $('composer-text').focus();
}

// Opens a conversation at one message, highlighted for a moment: the window around it is loaded
// (PROTOCOL.md, "Jumping to a message") unless it is among the loaded messages already.
async function jumpToMessage(s, key, id) {
  openConversation(s, key, { at: id });
  const conversation = s.store.get(key);
  if (!conversation.shows(id)) {
    const page = await ask(s, 'history', { ...conversationTarget(key), around: id, limit: JUMP_CONTEXT }, 'conversation-error');
    if (session !== s || s.openKey !== key) return;
    if (!page) { // gone meanwhile (deleted, or the group left): the conversation opens at its newest
      if (!conversation.historyLoaded) loadHistory(s, key, 'newest');
      return;
    }
    s.store.addAroundPage(key, page);
  }
  s.jumpedTo = { key, id };
  s.scrollToId = id;
  render(s);
  markReadIfSeen(s);
  setTimeout(() => {
    if (s.jumpedTo?.id !== id) return;
    s.jumpedTo = null;
    scheduleRender(s);
  }, HIGHLIGHT_MS);
}

// ---------------------------------------------------------------------------------------------------
// Rendering

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name.startsWith('data-') || name.startsWith('aria-') || name === 'title' || name === 'type') node.setAttribute(name, value);
    else node[name] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function setStatus(text, online) {
  const status = $('connection-status');
  status.textContent = text;
  status.classList.toggle('online', online);
}

function showError(id, text) {
  $(id).textContent = text;
}

function formatTime(ms) {
  if (!ms) return '';
  const date = new Date(ms);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

function presenceOf(s, user) {
  if (user === s.me) return { state: 'online' };
  if (s.contacts.get(user) !== 'contact') return null; // only contacts' presence can be watched
  return s.presence.get(user) ?? { state: 'offline' };
}

function presenceText(presence) {
  if (!presence) return '';
  if (presence.state === 'online') return 'online';
  return presence.lastActiveAt ? `offline, last seen ${formatTime(presence.lastActiveAt)}` : 'offline';
}

function presenceDot(presence) {
  return el('span', { class: `dot ${presence ? presence.state : 'none'}`, 'aria-hidden': 'true' });
}

// Sends in flight are kept for this tab, so a reload before the server's ack resends them (same cmid).
function savePending(s) {
  const snapshot = JSON.stringify(s.store.pendingSnapshot());
  if (snapshot === s.savedPending) return;
  s.savedPending = snapshot;
  if (snapshot === '[]') sessionStorage.removeItem(s.pendingKey);
  else sessionStorage.setItem(s.pendingKey, snapshot);
}

let renderQueued = false;
function scheduleRender(s) {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    if (session === s) render(s);
  });
}

function render(s, options = {}) {
  if (session !== s) return;
  savePending(s);
  renderConversationList(s);
  renderInvitations(s);
  renderContacts(s);
  renderMentions(s);
  renderConversation(s, options);
}

function conversationTitle(conversation) {
  return conversation.group ? `# ${conversation.name}` : conversation.name;
}

const DELETED_TEXT = 'Message deleted';

// The list's line about the last message: its sender in a group (or when it is mine), its text.
function previewParts(s, conversation) {
  const last = conversation.last;
  if (!last) return null;
  const from = last.from === s.me ? 'You' : last.from;
  return { from: conversation.group || last.from === s.me ? `${from}: ` : '', text: last.deleted ? DELETED_TEXT : last.text };
}

function previewElement(s, conversation) {
  const parts = previewParts(s, conversation);
  if (!parts) return null;
  return el(
    'span',
    { class: 'preview-line' },
    el('span', { class: 'preview' },
      parts.from ? el('span', { class: 'preview-from', text: parts.from }) : null,
      el('span', { class: `preview-text${conversation.last.deleted ? ' deleted' : ''}`, text: parts.text })),
    timeElement(conversation.last.ts, 'preview-time'),
  );
}

function timeElement(ts, className) {
  return el('time', { class: className, dateTime: ts ? new Date(ts).toISOString() : '', text: formatTime(ts) });
}

function renderConversationList(s) {
  const items = s.store.sorted().map((conversation) => {
    const presence = conversation.peer ? presenceOf(s, conversation.peer) : null;
    const preview = previewParts(s, conversation);
    const label = [conversation.name, presenceText(presence), conversation.unread ? `${unreadText(conversation)} unread` : '',
      preview ? `last message ${formatTime(conversation.last.ts)}: ${preview.from}${preview.text}` : '']
      .filter(Boolean)
      .join(', ');
    const button = el(
      'button',
      {
        type: 'button',
        class: 'conversation-button',
        'data-key': conversation.key,
        'data-focus-id': `open:${conversation.key}`,
        'aria-label': label,
        'aria-current': String(conversation.key === s.openKey),
        onclick: () => openConversation(s, conversation.key),
      },
      conversation.peer ? presenceDot(presence) : el('span', { class: 'dot none', 'aria-hidden': 'true' }),
      el('span', { class: 'summary' }, el('span', { class: 'name', text: conversationTitle(conversation) }), previewElement(s, conversation)),
      conversation.unread ? el('span', { class: 'unread', text: unreadText(conversation) }) : null,
    );
    return el('li', {}, button);
  });
  replaceKeepingFocus($('conversation-list'), items);
}

// Invitations to groups from people who are not this user's contacts: joining takes their answer.
function renderInvitations(s) {
  const invites = [...s.store.invites.values()];
  $('invitations').hidden = invites.length === 0;
  const items = invites.map((invite) =>
    el(
      'li',
      { class: 'invitation', 'data-group': invite.group },
      el('span', { class: 'name', text: `# ${invite.name}` }),
      el('span', { class: 'state', text: `from ${invite.by}` }),
      contactButton('Join', `Join ${invite.name}`, () => answerInvitation(s, 'group_join', invite)),
      contactButton('Decline', `Decline ${invite.name}`, () => answerInvitation(s, 'group_decline', invite)),
    ),
  );
  replaceKeepingFocus($('invitation-list'), items);
}

async function answerInvitation(s, op, invite) {
  showError('sidebar-error', '');
  const reply = await ask(s, op, { group: invite.group }, 'sidebar-error');
  if (!reply) return;
  s.store.invites.delete(invite.group);
  if (op === 'group_join') {
    s.store.get(`g:${invite.group}`).name = reply.name ?? invite.name;
    openConversation(s, `g:${invite.group}`);
  }
  scheduleRender(s);
}

// Those a create or add request invited (not the caller's contacts) join only when they accept.
function noteInvited(reply, where) {
  if (reply.invited?.length) showError(where, `Invited ${reply.invited.join(', ')}: they join once they accept.`);
}

const CONTACT_STATES = { contact: null, outgoing: 'waiting for an answer', incoming: 'wants to be your contact' };

function renderContacts(s) {
  const items = [...s.contacts].sort(([a], [b]) => a.localeCompare(b)).map(([user, state]) => {
    const presence = state === 'contact' ? presenceOf(s, user) : null;
    const actions = [];
    if (state === 'incoming') {
      actions.push(contactButton('Accept', `Accept ${user}`, () => contactAction(s, 'contact_accept', user)));
      actions.push(contactButton('Decline', `Decline ${user}`, () => contactAction(s, 'contact_remove', user)));
    } else if (state === 'outgoing') {
      actions.push(contactButton('Cancel', `Cancel the request to ${user}`, () => contactAction(s, 'contact_remove', user)));
    } else {
      actions.push(contactButton('Chat', `Chat with ${user}`, () => openConversation(s, `u:${user}`)));
    }
    return el(
      'li',
      { class: 'contact', 'data-user': user, 'data-state': state },
      presenceDot(presence),
      el('span', { class: 'name', text: user }),
      el('span', { class: 'state', text: CONTACT_STATES[state] ?? presenceText(presence) }),
      ...actions,
    );
  });
  replaceKeepingFocus($('contact-list'), items);
}

function contactButton(text, label, onclick) {
  return el('button', { type: 'button', text, 'aria-label': label, 'data-focus-id': label, onclick });
}

// Lists are rebuilt on every change; the control that had keyboard focus gets it back.
function replaceKeepingFocus(container, items) {
  const focusId = container.contains(document.activeElement) ? document.activeElement.dataset.focusId : undefined;
  container.replaceChildren(...items);
  if (focusId !== undefined) {
    [...container.querySelectorAll('[data-focus-id]')].find((node) => node.dataset.focusId === focusId)?.focus();
  }
}

async function contactAction(s, op, user) {
  showError('sidebar-error', '');
  if (await ask(s, op, { user }, 'sidebar-error')) await s.refreshContacts();
}

function renderConversation(s, { toBottom = false } = {}) {
  const conversation = s.openKey ? s.store.find(s.openKey) : null;
  $('composer').hidden = !conversation || !conversation.member;
  $('group-add-form').hidden = true;
  $('group-leave').hidden = true;
  if (!conversation) {
    $('conversation-title').textContent = 'Pick a conversation';
    $('conversation-subtitle').textContent = '';
    $('typing').textContent = '';
    $('load-older').hidden = true;
    $('message-list').replaceChildren();
    return;
  }
  $('conversation-title').textContent = conversationTitle(conversation);
  if (conversation.group) {
    const info = s.groups.get(conversation.group);
    const describe = (m) => [m, m === info.owner ? 'owner' : '', m !== s.me && info.online?.has(m) ? 'online' : '']
      .filter(Boolean)
      .reduce((name, note) => `${name} (${note})`);
    const members = info ? info.members.map(describe).join(', ') : '';
    $('conversation-subtitle').textContent = conversation.member ? members : 'You are no longer in this group.';
    $('group-add-form').hidden = !conversation.member || info?.owner !== s.me;
    $('group-leave').hidden = !conversation.member;
  } else {
    $('conversation-subtitle').textContent = presenceText(presenceOf(s, conversation.peer));
  }
  const typing = s.typing.get(conversation.key);
  $('typing').textContent = typing && typing.until > Date.now() ? `${typing.from} is typing…` : '';
  $('load-older').hidden = !conversation.historyLoaded || !conversation.hasOlder;
  $('load-newer').hidden = !conversation.hasNewer;
  renderMessages(s, conversation, toBottom);
}

// Stored messages by server id, unsent ones by cmid: one element per stored message, so a message
// stored twice would show twice.
function timelineKey(item) {
  return item.id ? `i:${item.id}` : `p:${item.cmid}`;
}

// Updates the message list in place (elements are kept per message), so that screen readers announce
// only new messages and the scroll position survives older pages being prepended.
function renderMessages(s, conversation, toBottom) {
  const list = $('message-list');
  const scroller = $('message-scroller');
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
  const heightBefore = scroller.scrollHeight;
  const wanted = new Set();
  let next = list.firstElementChild;
  for (const item of conversation.timeline()) {
    const key = timelineKey(item);
    wanted.add(key);
    let entry = s.elements.get(key);
    const pendingKey = `p:${item.cmid}`;
    if (!entry && item.id && item.cmid && s.elements.has(pendingKey) && !wanted.has(pendingKey)) {
      // This device's send was just stored: its element carries on under the server id.
      entry = s.elements.get(pendingKey);
      s.elements.delete(pendingKey);
      s.elements.set(key, entry);
    }
    const signature = messageSignature(s, conversation, item);
    if (!entry) {
      entry = { node: messageElement(s, conversation, item), signature };
      s.elements.set(key, entry);
    } else if (entry.signature !== signature) {
      // Updated in place (Sending… to Sent, an edit, a deletion): the element stays where it is.
      const fresh = messageElement(s, conversation, item);
      entry.node.className = fresh.className;
      Object.assign(entry.node.dataset, fresh.dataset);
      entry.node.replaceChildren(...fresh.childNodes);
      entry.signature = signature;
    }
    if (entry.node === next) next = next.nextElementSibling;
    else list.insertBefore(entry.node, next);
  }
  for (const [key, entry] of s.elements) {
    if (!wanted.has(key)) {
      entry.node.remove();
      s.elements.delete(key);
    }
  }
  const target = s.scrollToId && s.elements.get(`i:${s.scrollToId}`);
  if (target) target.node.scrollIntoView({ block: 'center' });
  else if (s.keepScrollOnPrepend) scroller.scrollTop += scroller.scrollHeight - heightBefore;
  else if ((toBottom || atBottom) && !s.keepScrollOnAppend) scroller.scrollTop = scroller.scrollHeight;
  s.keepScrollOnPrepend = false;
  s.keepScrollOnAppend = false; // a newer page goes below what is read, not scrolled to
  s.scrollToId = null;
}

// What an element shows of a message: a change of any of it rebuilds the element's content.
function messageSignature(s, conversation, item) {
  const { canEdit, canDelete } = allowedChanges(s, conversation, item);
  return [item.id, item.state, item.error?.message, item.editedAt, item.deleted, isEditing(s, item), isJumpedTo(s, item), canEdit, canDelete].join('|');
}

// Unsent messages have no id, so none of them is being edited or was jumped to.
const isEditing = (s, item) => item.id !== undefined && s.editing?.id === item.id;
const isJumpedTo = (s, item) => item.id !== undefined && s.jumpedTo?.id === item.id;

function messageElement(s, conversation, item) {
  const mine = item.from === undefined || item.from === s.me;
  const state = item.state ?? 'stored';
  const meta = el('div', { class: 'meta' }, timeElement(item.ts ?? item.since));
  if (item.editedAt && !item.deleted) meta.append(' ', el('span', { class: 'edited', text: '(edited)', title: `Edited ${formatTime(item.editedAt)}` }));
  if (mine) {
    const labels = { sending: 'Sending…', stored: 'Sent', failed: `Not sent: ${item.error?.message}` };
    meta.append(' ', el('span', { class: `state ${state}`, text: labels[state], title: item.id ? `Stored as ${item.id}` : '' }));
    if (state === 'failed') {
      // Sending the same text again only helps when the server was busy, not when the text was refused.
      if (RETRYABLE_ERRORS.has(item.error?.code)) {
        meta.append(el('button', { type: 'button', text: 'Retry', onclick: () => retrySend(s, conversation.key, item.cmid) }));
      }
      meta.append(
        el('button', { type: 'button', text: 'Edit', onclick: () => editFailedSend(s, conversation.key, item.cmid) }),
        el('button', { type: 'button', text: 'Discard', onclick: () => discardSend(s, conversation.key, item.cmid) }),
      );
    }
  }
  meta.append(...changeButtons(s, conversation, item));
  const classes = ['message', mine ? 'mine' : 'theirs', state];
  if (item.deleted) classes.push('deleted');
  if (item.mentionsMe) classes.push('mentioned');
  if (isJumpedTo(s, item)) classes.push('jumped');
  return el(
    'li',
    { class: classes.join(' '), 'data-id': item.id ?? '', 'data-cmid': item.cmid ?? '', 'data-state': state },
    el('div', { class: 'bubble' }, el('span', { class: 'from', text: mine ? 'You' : item.from }), messageBody(s, conversation, item)),
    meta,
  );
}

// The text, with mentions apart; a tombstone; or the editor.
function messageBody(s, conversation, item) {
  if (item.deleted) return el('p', { class: 'tombstone', text: DELETED_TEXT });
  if (isEditing(s, item)) return editForm(s, conversation, item);
  return el('p', { class: 'text' }, ...textWithMentions(item));
}

// A message's text as nodes, the `@names` the server found set apart (text nodes only: never HTML).
// An unsent message has no mentions yet.
function textWithMentions(item) {
  const names = item.mentionsAll ? [...(item.mentions ?? []), 'all'] : item.mentions ?? [];
  return splitMentions(item.text, names).map((piece) =>
    piece.mention ? el('span', { class: 'mention', text: piece.text }) : document.createTextNode(piece.text));
}

// One's own stored messages can be edited and deleted; a group's owner may delete anyone's (known
// once the group's members have been fetched).
function allowedChanges(s, conversation, item) {
  if (!item.id || item.deleted || !conversation.member) return { canEdit: false, canDelete: false };
  const mine = item.from === s.me;
  const owner = conversation.group !== null && s.groups.get(conversation.group)?.owner === s.me;
  return { canEdit: mine, canDelete: mine || owner };
}

function changeButtons(s, conversation, item) {
  const { canEdit, canDelete } = allowedChanges(s, conversation, item);
  const buttons = [];
  if (canEdit) {
    buttons.push(el('button', { type: 'button', class: 'edit', text: 'Edit', 'aria-label': 'Edit message', onclick: () => startEdit(s, conversation.key, item) }));
  }
  if (canDelete) {
    buttons.push(el('button', { type: 'button', class: 'delete', text: 'Delete', 'aria-label': 'Delete message', onclick: () => deleteMessage(s, conversation.key, item.id) }));
  }
  return buttons;
}

function editForm(s, conversation, item) {
  const input = el('textarea', {
    class: 'edit-text',
    rows: 2,
    value: s.editing.draft,
    'aria-label': 'New text of the message',
    oninput: (event) => { if (s.editing) s.editing.draft = event.target.value; },
    onkeydown: (event) => {
      if (event.key === 'Escape') endEdit(s);
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        event.target.form.requestSubmit();
      }
    },
  });
  return el(
    'form',
    { class: 'edit-form', onsubmit: (event) => { event.preventDefault(); saveEdit(s, conversation.key, item); } },
    input,
    el('button', { type: 'submit', text: 'Save' }),
    el('button', { type: 'button', text: 'Cancel', onclick: () => endEdit(s) }),
  );
}

function startEdit(s, key, item) {
  s.editing = { key, id: item.id, draft: item.text };
  render(s);
  const input = s.elements.get(`i:${item.id}`)?.node.querySelector('.edit-text');
  input?.focus();
  input?.setSelectionRange(input.value.length, input.value.length);
}

function endEdit(s) {
  s.editing = null;
  render(s);
}

// The edit event (which comes to this device as well) shows the new text; the reply only says ok.
async function saveEdit(s, key, item) {
  const text = s.editing?.draft ?? '';
  showError('conversation-error', '');
  if (text === item.text) return endEdit(s);
  if (await ask(s, 'edit', { ...conversationTarget(key), id: item.id, text }, 'conversation-error')) endEdit(s);
}

async function deleteMessage(s, key, id) {
  if (!window.confirm('Delete this message for everyone?')) return;
  showError('conversation-error', '');
  await ask(s, 'delete', { ...conversationTarget(key), id }, 'conversation-error');
}

// ---------------------------------------------------------------------------------------------------
// Searching (PROTOCOL.md, "Searching"): asked once typing pauses; a reply to an older query is dropped.

function scheduleSearch(s, query) {
  clearTimeout(s.search.timer);
  s.search.timer = setTimeout(() => runSearch(s, query, null), SEARCH_DELAY_MS);
}

async function runSearch(s, query, before) {
  const search = s.search;
  const asked = ++search.asked;
  if (!hasSearchWord(query)) {
    Object.assign(search, { query: '', hits: [], more: false, nextBefore: null });
    showSearchStatus(query.trim() ? 'Type a word to search for.' : '');
    renderSearch(s);
    return;
  }
  showSearchStatus('Searching…');
  try {
    const reply = await s.conn.request('search', before ? { q: query, before } : { q: query });
    if (session !== s || asked !== search.asked) return;
    const hits = (reply.hits ?? []).filter((hit) => typeof hit?.id === 'string');
    Object.assign(search, { query, hits: before ? [...search.hits, ...hits] : hits, more: reply.more === true, nextBefore: reply.next_before ?? null });
    showSearchStatus(search.hits.length ? '' : 'No messages found.');
  } catch (error) {
    if (session !== s || asked !== search.asked) return;
    showSearchStatus(`Could not search: ${error.message}`);
  }
  renderSearch(s);
}

function showSearchStatus(text) {
  $('search-status').textContent = text;
}

function renderSearch(s) {
  replaceKeepingFocus($('search-results'), s.search.hits.map((hit) => messageLink(s, hit, 'search-hit')));
  $('search-more').hidden = !s.search.more;
}

// A message listed outside its conversation (a search hit, a mention): its conversation, sender, time
// and text. Clicking it opens the conversation at the message, the same way for every such list.
function messageLink(s, message, className) {
  const key = conversationKey(s.me, message);
  const conversation = s.store.find(key);
  // A group the page has not heard of yet has only an id, which means nothing to the user.
  const where = conversation ? conversationTitle(conversation) : conversationTarget(key).group ? 'a group' : key.slice(2);
  const record = messageRecord(message, s.me);
  return el(
    'li',
    {},
    el(
      'button',
      { type: 'button', class: className, 'data-id': message.id, 'data-key': key, 'data-focus-id': `${className}:${message.id}`, onclick: () => jumpToMessage(s, key, message.id) },
      el('span', { class: 'hit-head' },
        el('span', { class: 'hit-where', text: where }),
        el('span', { class: 'hit-from', text: record.from === s.me ? 'You' : record.from }),
        timeElement(record.ts, 'hit-time')),
      el('span', { class: 'hit-text' }, ...textWithMentions(record)),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------
// Mentions (PROTOCOL.md, "Mentions"): the messages that mention the user, asked afresh at every opening
// of the panel; a mention delivered while it is closed marks its button (MentionList).

function toggleMentions(s) {
  if (s.mentions.isOpen) {
    s.mentions.close();
  } else {
    s.mentions.open();
    loadMentions(s, { older: false });
  }
  renderMentions(s);
}

async function loadMentions(s, { older }) {
  const ticket = s.mentions.ask({ older });
  if (!ticket) return;
  renderMentions(s);
  try {
    const reply = await s.conn.request('mentions', ticket.body);
    if (session === s) s.mentions.applyPage(ticket, reply);
  } catch (error) {
    if (session === s) s.mentions.fail(ticket, error.message);
  }
  scheduleRender(s);
}

// Part of every render: a mention delivered while the panel is open joins its list there and then.
function renderMentions(s) {
  const mentions = s.mentions;
  $('mentions-new').hidden = !mentions.unseen;
  $('mentions-button').setAttribute('aria-expanded', String(mentions.isOpen));
  $('mentions-panel').hidden = !mentions.isOpen;
  if (!mentions.isOpen) return;
  const status = $('mentions-status');
  const text = mentions.statusText();
  if (status.textContent !== text) status.textContent = text; // a live region: said again only when changed
  replaceKeepingFocus($('mention-list'), mentions.messages.map((message) => messageLink(s, message, 'mention-hit')));
  $('mentions-more').hidden = !mentions.more || !mentions.loaded; // a click while a page is on its way asks nothing
}

function retrySend(s, key, cmid) {
  const pending = s.store.retrySend(key, cmid);
  if (pending) s.conn.publish('send', { ...sendTarget(key), text: pending.text, cmid });
  render(s);
}

function discardSend(s, key, cmid) {
  s.store.find(key)?.pending.delete(cmid);
  render(s);
}

function editFailedSend(s, key, cmid) {
  const pending = s.store.find(key)?.pending.get(cmid);
  if (!pending) return;
  discardSend(s, key, cmid);
  $('composer-text').value = pending.text;
  $('composer-text').focus();
}

// ---------------------------------------------------------------------------------------------------
// Views and controls

function showLoginView(error) {
  $('chat-view').hidden = true;
  $('account').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = error;
  $('login-form').querySelector('button').disabled = false;
  setStatus('Not signed in', false);
  $('login-password').value = '';
  $('login-user').focus();
}

function showChatView(s) {
  $('search-text').value = '';
  showSearchStatus('');
  renderSearch(s);
  $('login-view').hidden = true;
  $('chat-view').hidden = false;
  $('account').hidden = false;
  $('account-name').textContent = `${s.me} (device ${s.device})`;
  render(s);
}

function splitNames(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

function checkNames(names, errorId) {
  const bad = names.find((n) => !isValidName(n));
  if (bad !== undefined) showError(errorId, `"${bad}" is not a user name (1-64 of A-Z a-z 0-9 _ . -)`);
  return bad === undefined;
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const user = $('login-user').value.trim();
  const password = $('login-password').value;
  if (!checkNames([user], 'login-error')) return;
  if (!password) return showError('login-error', 'Enter your password.');
  showError('login-error', '');
  $('login-form').querySelector('button').disabled = true;
  signIn(user, password).catch((error) => showLoginView(`Could not sign in: ${error.message}`));
});

$('logout').addEventListener('click', () => signOut());

$('new-chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const user = $('new-chat-user').value.trim();
  if (!session || !checkNames([user], 'sidebar-error')) return;
  showError('sidebar-error', '');
  $('new-chat-user').value = '';
  openConversation(session, `u:${user}`);
});

$('add-contact-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const user = $('add-contact-user').value.trim();
  if (!session || !checkNames([user], 'sidebar-error')) return;
  showError('sidebar-error', '');
  $('add-contact-user').value = '';
  await contactAction(session, 'contact_request', user);
});

$('new-group-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const s = session;
  const name = $('new-group-name').value.trim();
  const members = splitNames($('new-group-members').value);
  if (!s || !name || !checkNames(members, 'sidebar-error')) return;
  showError('sidebar-error', '');
  const reply = await ask(s, 'group_create', { name, members }, 'sidebar-error');
  if (reply) noteInvited(reply, 'sidebar-error');
  if (!reply) return;
  $('new-group-name').value = '';
  $('new-group-members').value = '';
  s.store.get(`g:${reply.group}`).name = reply.name;
  openConversation(s, `g:${reply.group}`); // which fetches its members
});

$('group-add-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const s = session;
  const users = splitNames($('group-add-user').value);
  const group = s?.store.find(s.openKey)?.group;
  if (!group || !users.length || !checkNames(users, 'conversation-error')) return;
  showError('conversation-error', '');
  const reply = await ask(s, 'group_add', { group, users }, 'conversation-error');
  if (reply) noteInvited(reply, 'conversation-error');
  if (!reply) return;
  $('group-add-user').value = '';
  await refreshGroup(s, group);
});

$('group-leave').addEventListener('click', async () => {
  const s = session;
  const conversation = s?.store.find(s.openKey);
  if (!conversation?.group || !window.confirm(`Leave ${conversation.name}?`)) return;
  if (await ask(s, 'group_leave', { group: conversation.group }, 'conversation-error')) {
    conversation.member = false;
    render(s);
  }
});

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const s = session;
  const text = $('composer-text').value;
  if (!s?.openKey || text.trim() === '') return;
  $('composer-text').value = '';
  sendMessage(s, s.openKey, text);
});

$('composer-text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});

$('composer-text').addEventListener('input', () => {
  if (session && $('composer-text').value !== '') sendTyping(session);
});

// Near the top: older messages; near the bottom of a window jumped to: newer ones.
$('message-scroller').addEventListener('scroll', () => {
  const s = session;
  const scroller = $('message-scroller');
  const conversation = s?.openKey && s.store.find(s.openKey);
  if (!conversation?.historyLoaded) return;
  if (scroller.scrollTop <= 40) loadHistory(s, s.openKey, 'older');
  else if (scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= 40) loadHistory(s, s.openKey, 'newer');
});

$('load-older').addEventListener('click', () => {
  if (session?.openKey) loadHistory(session, session.openKey, 'older');
});

$('load-newer').addEventListener('click', () => {
  if (session?.openKey) loadHistory(session, session.openKey, 'newer');
});

$('search-text').addEventListener('input', () => {
  if (session) scheduleSearch(session, $('search-text').value);
});

$('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (session) {
    clearTimeout(session.search.timer);
    runSearch(session, $('search-text').value, null);
  }
});

$('search-more').addEventListener('click', () => {
  const s = session;
  if (s?.search.nextBefore) runSearch(s, s.search.query, s.search.nextBefore);
});

$('mentions-button').addEventListener('click', () => {
  if (session) toggleMentions(session);
});

$('mentions-more').addEventListener('click', () => {
  if (session) loadMentions(session, { older: true });
});

document.addEventListener('visibilitychange', () => session && markReadIfSeen(session));
window.addEventListener('online', () => session?.conn.retryNow());

// A reload in the same tab stays signed in (see onConnected).
const saved = readJson(sessionStorage, SESSION_KEY, null);
if (saved?.user && saved?.password) {
  $('login-user').value = saved.user;
  $('login-form').querySelector('button').disabled = true;
  setStatus('Signing in…', false);
  signIn(saved.user, saved.password, { resuming: true }).catch((error) => showLoginView(`Could not sign in: ${error.message}`));
}
