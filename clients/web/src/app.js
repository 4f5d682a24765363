// The chat page: sign-in, conversation list, contacts, groups and the open conversation. State lives in
// ConversationStore and SyncCursor; this file turns user actions into requests and state into DOM.
// Text from the network only ever goes into textContent, never into HTML.

import { ChatConnection } from './connection.js';
import { ConversationStore } from './conversations.js';
import { claimDevice } from './device.js';
import { compareIds, conversationKey, conversationTarget, isValidName, newCmid, sendTarget } from './protocol.js';
import { SyncCursor } from './sync-cursor.js';

const SYNC_PAGE = 500; // the server's default max_sync_page
const SKIP_BACKLOG_OVER = 2000; // longer backlogs are skipped: the list and history are refetched instead
const HISTORY_PAGE = 50;
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
    open && (skipped || !open.historyLoaded) ? loadHistory(s, open.key, { older: false }) : null,
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
  for (let page = 0; page < MAX_CONVERSATION_PAGES; page++) {
    const reply = await s.conn.request('conversations', before ? { before } : {});
    for (const entry of reply.conversations ?? []) s.store.applyListEntry(entry);
    if (!reply.more || !reply.next_before) break;
    before = reply.next_before;
  }
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

async function loadHistory(s, key, { older }) {
  const conversation = s.store.get(key);
  const loading = `${key} ${older ? 'older' : 'newest'}`;
  if (s.loadingHistory.has(loading) || (older && !conversation.hasOlder)) return;
  const request = { ...conversationTarget(key), limit: HISTORY_PAGE };
  const oldest = conversation.oldestId();
  if (older && oldest) request.before = oldest;
  s.loadingHistory.add(loading);
  try {
    const page = await s.conn.request('history', request);
    if (session !== s) return;
    s.store.addHistoryPage(key, page, { newest: !older });
    if (key === s.openKey) s.keepScrollOnPrepend = older;
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
  if (!conversation || conversation.lastId === null || document.visibilityState !== 'visible') return;
  if (compareIds(conversation.lastId, conversation.readUpTo) <= 0 || !s.conn.connected) return;
  const upTo = conversation.lastId;
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

function openConversation(s, key) {
  if (session !== s) return;
  s.openKey = key;
  s.elements = new Map();
  $('message-list').replaceChildren();
  showError('conversation-error', '');
  const conversation = s.store.get(key);
  render(s, { toBottom: true });
  if (!conversation.historyLoaded) loadHistory(s, key, { older: false });
  if (conversation.group) refreshGroup(s, conversation.group);
  markReadIfSeen(s);
  $('composer-text').focus();
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
  renderConversation(s, options);
}

function renderConversationList(s) {
  const items = s.store.sorted().map((conversation) => {
    const presence = conversation.peer ? presenceOf(s, conversation.peer) : null;
    const label = [conversation.name, presenceText(presence), conversation.unread ? `${unreadText(conversation)} unread` : '']
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
      el('span', { class: 'name', text: conversation.group ? `# ${conversation.name}` : conversation.name }),
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
  $('conversation-title').textContent = conversation.group ? `# ${conversation.name}` : conversation.name;
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
    const signature = `${item.id}|${item.state}|${item.error?.message}`;
    if (!entry) {
      entry = { node: messageElement(s, conversation, item), signature };
      s.elements.set(key, entry);
    } else if (entry.signature !== signature) {
      // Updated in place (Sending… to Sent), so the live log does not announce the message twice.
      const fresh = messageElement(s, conversation, item);
      entry.node.className = fresh.className;
      Object.assign(entry.node.dataset, fresh.dataset);
      entry.node.querySelector('.meta').replaceWith(fresh.querySelector('.meta'));
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
  if (toBottom || atBottom) scroller.scrollTop = scroller.scrollHeight;
  else if (s.keepScrollOnPrepend) scroller.scrollTop += scroller.scrollHeight - heightBefore;
  s.keepScrollOnPrepend = false;
}

function messageElement(s, conversation, item) {
  const mine = item.from === undefined || item.from === s.me;
  const state = item.state ?? 'stored';
  const meta = el('div', { class: 'meta' }, el('time', { dateTime: item.ts ? new Date(item.ts).toISOString() : '', text: formatTime(item.ts ?? item.since) }));
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
  return el(
    'li',
    { class: `message ${mine ? 'mine' : 'theirs'} ${state}`, 'data-id': item.id ?? '', 'data-cmid': item.cmid ?? '', 'data-state': state },
    el('div', { class: 'bubble' }, el('span', { class: 'from', text: mine ? 'You' : item.from }), el('p', { class: 'text', text: item.text })),
    meta,
  );
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

$('message-scroller').addEventListener('scroll', () => {
  const s = session;
  if (!s?.openKey || $('message-scroller').scrollTop > 40) return;
  const conversation = s.store.find(s.openKey);
  if (conversation?.historyLoaded) loadHistory(s, s.openKey, { older: true });
});

$('load-older').addEventListener('click', () => {
  if (session?.openKey) loadHistory(session, session.openKey, { older: true });
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
