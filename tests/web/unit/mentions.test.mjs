import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MENTIONS_PAGE, MentionList } from '../../../clients/web/src/mentions.js';

// Ids above 2^53, as the server's are (equal as JavaScript numbers: the order must come from BigInt).
const id = (n) => String(384049709653692400n + BigInt(n));
const mention = (n, extra = {}) => ({ id: id(n), from: 'alice', group: '7', text: `@bob #${n}`, ts: n, mentions: ['bob'], ...extra });
const event = (n, extra = {}) => ({ type: 'message', seq: n, ...mention(n), mentioned: true, ...extra });
const ids = (list) => list.messages.map((m) => m.id);

function opened() {
  const list = new MentionList('bob');
  list.open();
  return list;
}

test('the first page asks the default page size and lists the reply newest first; More pages on with next_before', () => {
  const list = opened();
  const first = list.ask();
  assert.deepEqual(first.body, { limit: MENTIONS_PAGE });
  assert.equal(list.statusText(), 'Loading…');
  assert.equal(list.ask({ older: true }), null, 'no next page before the first is in');
  assert.ok(list.applyPage(first, { type: 'mentions', more: true, next_before: id(8), messages: [mention(10), mention(9), mention(8)] }));
  assert.deepEqual(ids(list), [id(10), id(9), id(8)]);
  assert.deepEqual([list.loaded, list.more, list.nextBefore, list.statusText()], [true, true, id(8), '']);

  const older = list.ask({ older: true });
  assert.deepEqual(older.body, { limit: MENTIONS_PAGE, before: id(8) });
  assert.equal(list.ask({ older: true }), null, 'one page at a time');
  list.applyPage(older, { type: 'mentions', more: false, messages: [mention(8), mention(3), { from: 'x' }] });
  assert.deepEqual(ids(list), [id(10), id(9), id(8), id(3)], 'appended once each; an entry without an id is passed over');
  assert.deepEqual([list.more, list.nextBefore], [false, null]);
  assert.equal(list.ask({ older: true }), null, 'nothing more to ask');
});

test('more without next_before is no next page; an empty list says so', () => {
  const list = opened();
  list.applyPage(list.ask(), { type: 'mentions', more: true, messages: [] });
  assert.equal(list.more, false);
  assert.equal(list.statusText(), 'Nobody has mentioned you yet.');
});

test('a reply to a request a newer one replaced is dropped', () => {
  const list = opened();
  const stale = list.ask();
  list.close();
  list.open(); // opened again before the first answer came: asked afresh
  const fresh = list.ask();
  assert.equal(list.applyPage(stale, { more: false, messages: [mention(1)] }), false);
  assert.deepEqual(ids(list), []);
  assert.equal(list.fail(stale, 'timeout'), false);
  assert.equal(list.loading, true, 'the newer request is still out');
  assert.equal(list.applyPage(fresh, { more: false, messages: [mention(2)] }), true);
  assert.deepEqual(ids(list), [id(2)]);
});

test('a failed request is said, and can be asked again', () => {
  const list = opened();
  list.applyPage(list.ask(), { more: true, next_before: id(5), messages: [mention(5)] });
  const older = list.ask({ older: true });
  assert.ok(list.fail(older, 'no answer to mentions'));
  assert.equal(list.statusText(), 'Could not load mentions: no answer to mentions');
  assert.deepEqual(list.ask({ older: true }).body, { limit: MENTIONS_PAGE, before: id(5) });
  assert.equal(list.statusText(), 'Loading…');
});

test('a mention delivered while the panel is closed marks it until it is opened; others do not', () => {
  const list = new MentionList('bob');
  assert.equal(list.noteMessage(event(1, { mentioned: undefined })), false, 'not flagged: no mention of bob');
  assert.equal(list.noteMessage(event(2, { from: 'bob' })), false, 'one\'s own message');
  assert.equal(list.noteMessage(event(3, { deleted: true, text: undefined })), false, 'deleted (a sync page)');
  assert.equal(list.unseen, false);
  assert.equal(list.noteMessage(event(4)), true);
  assert.equal(list.unseen, true);
  assert.deepEqual(ids(list), [], 'the list is asked when the panel opens');
  list.open();
  assert.equal(list.unseen, false);
  list.close();
  assert.equal(list.unseen, false, 'closing marks nothing');
});

test('a mention delivered while the panel is open joins its list in place and marks nothing', () => {
  const list = opened();
  list.applyPage(list.ask(), { more: true, next_before: id(10), messages: [mention(20), mention(10)] });
  assert.equal(list.noteMessage(event(30)), true);
  assert.equal(list.noteMessage(event(15)), true);
  assert.equal(list.noteMessage(event(30)), true, 'a second copy (live, then in a sync page)');
  assert.deepEqual(ids(list), [id(30), id(20), id(15), id(10)]);
  assert.equal(list.noteMessage(event(5)), false, 'older than the loaded pages: the next page brings it');
  assert.deepEqual(ids(list), [id(30), id(20), id(15), id(10)]);
  assert.equal(list.unseen, false);
});

test('a mention delivered while the first page is on its way is kept when the page did not have it', () => {
  const list = new MentionList('bob');
  list.open();
  const first = list.ask();
  list.noteMessage(event(30, { text: 'hi @bob' }));
  list.applyPage(first, { more: false, messages: [mention(20)] }); // made before 30 was stored
  assert.deepEqual(ids(list), [id(30), id(20)]);
  assert.equal(list.messages[0].text, 'hi @bob');
  // Asked afresh at the next opening: what was noted before does not come back by itself.
  list.close();
  list.open();
  list.applyPage(list.ask(), { more: false, messages: [mention(20)] });
  assert.deepEqual(ids(list), [id(20)]);
});

test('edits change a listed mention\'s text, and take it out once bob is no longer mentioned; a deletion takes it out', () => {
  const list = opened();
  list.applyPage(list.ask(), { more: false, messages: [mention(3), mention(2), mention(1), { ...mention(4), mentions: undefined, mentions_all: true }] });
  assert.ok(list.applyChange({ type: 'edit', ...mention(2), text: '@bob, 7 pm', edited_at: 5 }));
  assert.equal(list.messages.find((m) => m.id === id(2)).text, '@bob, 7 pm');
  list.applyChange({ type: 'edit', ...mention(3), text: 'never mind', mentions: undefined, edited_at: 6 });
  list.applyChange({ type: 'delete', id: id(1), from: 'alice', group: '7', ts: 1, deleted: true, deleted_by: 'alice' });
  assert.deepEqual(ids(list), [id(4), id(2)]);
  assert.ok(list.applyChange({ type: 'edit', ...mention(4), mentions: undefined, mentions_all: true, text: '@all 8 pm', edited_at: 7 }));
  assert.equal(list.messages[0].text, '@all 8 pm', '@all mentions bob too');
  assert.equal(list.applyChange({ type: 'edit', ...mention(9), edited_at: 8 }), false, 'an unlisted message is not added');
  assert.deepEqual(ids(list), [id(4), id(2)]);
});

test('an edit that came live is not undone by a first page made before it', () => {
  const list = opened();
  const first = list.ask();
  list.noteMessage(event(30));
  list.applyChange({ type: 'edit', ...mention(30), text: '@bob (edited)', edited_at: 9 });
  list.applyPage(first, { more: false, messages: [mention(30)] });
  assert.equal(list.messages[0].text, '@bob (edited)');
});
