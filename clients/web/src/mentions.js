// The Mentions panel's state (PROTOCOL.md, "Mentions"): the messages that mention the user, newest
// first, in the pages of the `mentions` request, and whether a mention came while the panel was closed.
// Pure state: the page renders it, Node's test runner checks it.

import { messageRecord } from './conversations.js';
import { compareIds } from './protocol.js';

// Mentions per page: the server's default (it caps `limit` at limits.max_search_page).
export const MENTIONS_PAGE = 20;

const newestFirst = (a, b) => compareIds(b.id, a.id);

export class MentionList {
  constructor(me) {
    this.me = me;
    this.isOpen = false;
    this.unseen = false; // a mention came while the panel was closed: its button is marked
    this.messages = []; // newest first, as the server sent them (or as a later edit changed them)
    this.loaded = false; // a first page has been merged since the panel was last opened
    this.more = false;
    this.nextBefore = null;
    this.loading = false;
    this.asked = 0; // the newest request; replies to older ones are dropped
    this.error = null; // why the last request failed
    // Mentions delivered since the first page was asked for: its reply may have been made before they
    // were stored, and must not drop them.
    this.noted = [];
  }

  // The list is asked afresh at every opening: mentions come and go (edits, deletions, groups left)
  // while it is closed, and only the newest page says which.
  open() {
    this.isOpen = true;
    this.unseen = false;
    this.loaded = false;
  }

  close() {
    this.isOpen = false;
  }

  // A request for the first page, or (`older`) the next one. Returns {asked, older, body} to hand back
  // with the reply, or null when there is nothing to ask: no next page, or a request still out (paging
  // on from a list about to be replaced would join two lists with a hole between them).
  ask({ older = false } = {}) {
    if (older && (this.loading || !this.more || !this.loaded)) return null;
    this.asked++;
    this.loading = true;
    this.error = null;
    if (!older) this.noted = [];
    const body = { limit: MENTIONS_PAGE };
    if (older) body.before = this.nextBefore;
    return { asked: this.asked, older, body };
  }

  // A `mentions` reply. False when it answers a request made obsolete by a newer one (then it is dropped).
  applyPage(ticket, reply) {
    if (ticket.asked !== this.asked) return false;
    this.loading = false;
    const page = (Array.isArray(reply.messages) ? reply.messages : []).filter((m) => typeof m?.id === 'string');
    this.messages = ticket.older ? merged(this.messages, page) : merged(page, this.noted);
    this.more = reply.more === true && typeof reply.next_before === 'string';
    this.nextBefore = this.more ? reply.next_before : null;
    this.loaded = true;
    return true;
  }

  // The request failed: another may be asked (More again, or the next opening). False for an obsolete one.
  fail(ticket, message) {
    if (ticket.asked !== this.asked) return false;
    this.loading = false;
    this.error = message;
    return true;
  }

  // What the panel says above its list, if anything.
  statusText() {
    if (this.error !== null) return `Could not load mentions: ${this.error}`;
    if (this.loading) return 'Loading…';
    if (this.loaded && this.messages.length === 0) return 'Nobody has mentioned you yet.';
    return '';
  }

  // A message event, live or from a sync page. A mention of this user (the server's `mentioned` flag)
  // marks the closed panel's button, or joins the open panel's list: at its place when it is newer than
  // the oldest loaded (else it belongs to a page not loaded yet, which will bring it). True if it did either.
  noteMessage(event) {
    if (event.mentioned !== true || event.from === this.me || event.deleted === true || typeof event.id !== 'string') return false;
    if (!this.isOpen) {
      this.unseen = true;
      return true;
    }
    this.noted.push(event);
    const oldest = this.messages.at(-1);
    if (this.more && oldest && compareIds(event.id, oldest.id) <= 0) return false;
    this.messages = merged(this.messages, [event]);
    return true;
  }

  // An `edit` or `delete` event: a listed message shows its new text, or leaves the list when it is no
  // longer a mention of this user (deleted, or the name edited out). An edit that puts a mention in
  // shows at the next opening, which asks the list afresh.
  applyChange(event) {
    const listed = this.messages.some((m) => m.id === event.id);
    const stillMentioned = messageRecord(event, this.me).mentionsMe;
    const change = (list) => list.flatMap((m) => (m.id !== event.id ? [m] : stillMentioned ? [event] : []));
    this.messages = change(this.messages);
    this.noted = change(this.noted);
    return listed;
  }
}

// Two lists of messages as one, newest first, each id once: of a message in both, the later state (a
// mention delivered and then edited while a page made before the edit was on its way), else the first's.
function merged(first, second) {
  const byId = new Map();
  for (const message of [...first, ...second]) {
    const known = byId.get(message.id);
    if (!known || (message.edited_at ?? 0) > (known.edited_at ?? 0)) byId.set(message.id, message);
  }
  return [...byId.values()].sort(newestFirst);
}
