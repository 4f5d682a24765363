import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConversationStore, UNREAD_CAP } from '../../../clients/web/src/conversations.js';

const fromBob = (id, text = `m${id}`) => ({ type: 'message', id, from: 'bob', to: 'alice', text, ts: 1000 });
const fromAlice = (id, cmid, text = `m${id}`) => ({ type: 'message', id, from: 'alice', to: 'bob', text, ts: 1000, cmid });
const texts = (conversation) => conversation.timeline().map((m) => m.text);

test('a message seen live, in a sync page and in a history page is kept once, in id order', () => {
  const store = new ConversationStore('alice');
  store.addMessage(fromBob('384049709653692418'));
  store.addMessage(fromBob('384049709653692418'));
  store.addHistoryPage('u:bob', { messages: [fromBob('384049709653692418'), fromBob('384049709653692417')], more: false }, { direction: 'newest' });
  const bob = store.find('u:bob');
  assert.deepEqual(bob.timeline().map((m) => m.id), ['384049709653692417', '384049709653692418']);
  assert.equal(bob.lastId, '384049709653692418');
  assert.equal(bob.oldestId(), '384049709653692417');
  assert.equal(bob.hasOlder, false);
});

test('live messages from others count as unread; history and own messages do not', () => {
  const store = new ConversationStore('alice');
  store.addMessage(fromBob('10'));
  store.addMessage(fromBob('11'));
  store.addMessage(fromAlice('12', 'c1'));
  store.addHistoryPage('u:bob', { messages: [fromBob('5')], more: true }, { direction: 'newest' });
  assert.equal(store.find('u:bob').unread, 2);
});

test('a send is pending until acknowledged, then stored under its server id; its event is not a second copy', () => {
  const store = new ConversationStore('alice');
  store.startSend('u:bob', 'c1', 'hello');
  assert.deepEqual(store.find('u:bob').timeline().map((m) => m.state), ['sending']);
  store.ackSend({ type: 'ack', op: 'send', cmid: 'c1', id: '20', ts: 5 });
  store.addMessage(fromAlice('20', 'c1', 'hello'));
  const bob = store.find('u:bob');
  assert.deepEqual(bob.timeline().map((m) => [m.id, m.text]), [['20', 'hello']]);
  assert.equal(bob.pending.size, 0);
});

test('the event of an own send may come before its ack', () => {
  const store = new ConversationStore('alice');
  store.startSend('u:bob', 'c1', 'hello');
  store.addMessage(fromAlice('20', 'c1', 'hello'));
  assert.equal(store.find('u:bob').pending.size, 0);
  store.ackSend({ type: 'ack', op: 'send', cmid: 'c1', id: '20', ts: 5, duplicate: true });
  assert.deepEqual(texts(store.find('u:bob')), ['hello']);
});

test('a refused send keeps its text and the server\'s error; a retry sends it again', () => {
  const store = new ConversationStore('alice');
  store.startSend('u:bob', 'c1', 'x'.repeat(10));
  store.failSend('c1', { code: 'too_long', message: 'text has 10 characters; the limit is 5' });
  const [failed] = store.find('u:bob').timeline();
  assert.equal(failed.state, 'failed');
  assert.equal(failed.error.code, 'too_long');
  assert.deepEqual([...store.sending()], []);
  store.retrySend('u:bob', 'c1');
  assert.deepEqual([...store.sending()].map(({ pending }) => pending.cmid), ['c1']);
});

test('read positions only move forward and recount what is unread', () => {
  const store = new ConversationStore('alice');
  store.addHistoryPage('u:bob', { messages: [], more: false }, { direction: 'newest' });
  for (const id of ['10', '11', '12']) store.addMessage(fromBob(id));
  assert.equal(store.find('u:bob').unread, 3);
  store.applyRead('u:bob', '11');
  assert.equal(store.find('u:bob').unread, 1);
  store.applyRead('u:bob', '10');
  assert.equal(store.find('u:bob').readUpTo, '11');
  store.applyRead('u:bob', '12');
  assert.equal(store.find('u:bob').unread, 0);
});

test('the conversation list takes the server\'s read position and count, capped', () => {
  const store = new ConversationStore('alice');
  store.applyRead('u:bob', '50');
  store.applyListEntry({ peer: 'bob', last_id: '60', read_up_to: '40', unread: 5000 });
  store.applyListEntry({ group: '7', name: 'Team', last_id: '70', read_up_to: '0', unread: 2 });
  assert.equal(store.find('u:bob').readUpTo, '40');
  assert.equal(store.find('u:bob').unread, UNREAD_CAP);
  assert.equal(store.find('g:7').name, 'Team');
  assert.deepEqual(store.sorted().map((c) => c.key), ['g:7', 'u:bob']);
  assert.equal(store.find('u:bob').unreadCapped, true);
  assert.equal(store.find('g:7').unreadCapped, false);
  // The server stopped counting early (its scan budget): the count is a lower bound until read.
  store.applyListEntry({ peer: 'carol', last_id: '80', read_up_to: '0', unread: 3, unread_capped: true });
  assert.equal(store.find('u:carol').unreadCapped, true);
  store.applyRead('u:carol', '80');
  assert.equal(store.find('u:carol').unread, 0);
  assert.equal(store.find('u:carol').unreadCapped, false);
});

test('an invitation waits outside the conversations until joined or declined', () => {
  const store = new ConversationStore('alice');
  assert.equal(store.applyGroupEvent({ type: 'group', group: '9', event: 'invited', by: 'carol', users: ['alice'], name: 'Club' }), null);
  assert.deepEqual([...store.invites.values()], [{ group: '9', name: 'Club', by: 'carol' }]);
  assert.equal(store.find('g:9'), null, 'no conversation for an invitation');
  store.applyGroupEvent({ type: 'group', group: '9', event: 'joined', by: 'alice', users: ['alice'], name: 'Club' });
  assert.equal(store.invites.size, 0);
  assert.equal(store.find('g:9').member, true);
  store.applyGroupEvent({ type: 'group', group: '8', event: 'invited', by: 'dave', users: ['alice'], name: 'X' });
  store.applyGroupEvent({ type: 'group', group: '8', event: 'declined', by: 'alice', users: ['alice'], name: 'X' });
  assert.equal(store.invites.size, 0);
  store.setInvites([{ group: '7', name: 'Y', by: 'erin', ts: 1 }]);
  assert.deepEqual([...store.invites.keys()], ['7']);
});

test('group events rename the group and end or restore membership', () => {
  const store = new ConversationStore('alice');
  store.applyGroupEvent({ type: 'group', group: '7', event: 'created', by: 'bob', users: ['alice', 'bob'], name: 'Team' });
  assert.equal(store.find('g:7').member, true);
  store.applyGroupEvent({ type: 'group', group: '7', event: 'renamed', by: 'bob', name: 'Crew' });
  assert.equal(store.find('g:7').name, 'Crew');
  store.applyGroupEvent({ type: 'group', group: '7', event: 'removed', by: 'bob', users: ['alice'], name: 'Crew' });
  assert.equal(store.find('g:7').member, false);
  store.applyGroupEvent({ type: 'group', group: '7', event: 'added', by: 'bob', users: ['alice'], name: 'Crew' });
  assert.equal(store.find('g:7').member, true);
});

test('conversations sort by newest activity, as ids above 2^53', () => {
  const store = new ConversationStore('alice');
  store.addMessage({ ...fromBob('384049709653692417'), from: 'carol' });
  store.addMessage(fromBob('384049709653692418'));
  store.get('u:dave'); // opened, nothing written yet
  assert.deepEqual(store.sorted().map((c) => c.key), ['u:bob', 'u:carol', 'u:dave']);
});

test('forgetting messages (after a skipped backlog) makes history load afresh', () => {
  const store = new ConversationStore('alice');
  store.addHistoryPage('u:bob', { messages: [fromBob('1')], more: false }, { direction: 'newest' });
  store.forgetMessages();
  const bob = store.find('u:bob');
  assert.equal(bob.messages.size, 0);
  assert.equal(bob.historyLoaded, false);
  assert.equal(bob.hasOlder, true);
});

test('edit and delete events replace a loaded message; a later state is never undone by an earlier copy', () => {
  const store = new ConversationStore('alice');
  store.addHistoryPage('u:bob', { messages: [fromBob('10', 'see you at 5')], more: false }, { direction: 'newest' });
  store.applyChange({ type: 'edit', id: '10', from: 'bob', to: 'alice', text: 'see you at 6', ts: 1000, edited_at: 2000 });
  const bob = store.find('u:bob');
  assert.deepEqual([bob.messages.get('10').text, bob.messages.get('10').editedAt], ['see you at 6', 2000]);
  // A history reply answered before the edit brings the old text: it does not come back.
  store.addHistoryPage('u:bob', { messages: [fromBob('10', 'see you at 5')], more: false }, { direction: 'older' });
  assert.equal(bob.messages.get('10').text, 'see you at 6');
  store.applyChange({ type: 'delete', id: '10', from: 'bob', to: 'alice', deleted: true, deleted_by: 'bob', ts: 1000 });
  assert.deepEqual([bob.messages.get('10').deleted, bob.messages.get('10').text], [true, '']);
  store.applyChange({ type: 'edit', id: '10', from: 'bob', to: 'alice', text: 'late edit', ts: 1000, edited_at: 3000 });
  assert.equal(bob.messages.get('10').deleted, true, 'a deletion is final');
  // A change of a message the page has not loaded adds nothing (it would be a hole in the timeline).
  store.applyChange({ type: 'edit', id: '7', from: 'bob', to: 'alice', text: 'older', ts: 900, edited_at: 3000 });
  assert.deepEqual(bob.timeline().map((m) => m.id), ['10']);
});

test('a message event after its deletion (a sync) is a tombstone; a known message takes a later state', () => {
  const store = new ConversationStore('alice');
  store.addMessage({ ...fromBob('10'), text: undefined, deleted: true, deleted_by: 'bob' });
  assert.deepEqual(texts(store.find('u:bob')), ['']);
  assert.equal(store.find('u:bob').messages.get('10').deleted, true);
  store.addMessage(fromBob('11', 'first'));
  store.addMessage({ ...fromBob('11', 'second'), edited_at: 5 });
  assert.equal(store.find('u:bob').messages.get('11').text, 'second');
});

test('the preview is the newest message, cut, and follows edits and deletions of it', () => {
  const store = new ConversationStore('alice');
  store.applyList([{ peer: 'bob', last_id: '10', read_up_to: '0', unread: 1, last: { id: '10', from: 'bob', text: 'hi', ts: 50 } }]);
  const bob = store.find('u:bob');
  assert.deepEqual([bob.last.text, bob.last.from, bob.last.ts], ['hi', 'bob', 50]);
  store.addMessage(fromBob('11', 'é'.repeat(300)));
  assert.equal(bob.last.id, '11');
  assert.equal(bob.last.text, `${'é'.repeat(200)}…`);
  store.addHistoryPage('u:bob', { messages: [fromBob('9', 'older')], more: false }, { direction: 'older' });
  assert.equal(bob.last.id, '11', 'an older message is no preview');
  store.applyChange({ type: 'edit', id: '11', from: 'bob', to: 'alice', text: 'short', ts: 1000, edited_at: 2 });
  assert.equal(bob.last.text, 'short');
  store.applyChange({ type: 'delete', id: '11', from: 'bob', to: 'alice', deleted: true, deleted_by: 'bob', ts: 1000 });
  assert.deepEqual([bob.last.deleted, bob.last.text], [true, '']);
  store.applyList([{ group: '7', name: 'Team', last_id: '0', read_up_to: '0', unread: 0 }]);
  assert.equal(store.find('g:7').last, null, 'a group nobody wrote in has no preview');
});

test('the list keeps the server\'s order, and a delivered message or an acked send moves its conversation to the top', () => {
  const store = new ConversationStore('alice');
  // A group nobody wrote in yet sits where its creation puts it, whatever its last_id.
  store.applyList([
    { group: '7', name: 'New', last_id: '0', read_up_to: '0', unread: 0 },
    { peer: 'bob', last_id: '30', read_up_to: '30', unread: 0 },
    { peer: 'carol', last_id: '20', read_up_to: '20', unread: 0 },
  ]);
  store.get('u:dave');
  assert.deepEqual(store.sorted().map((c) => c.key), ['g:7', 'u:bob', 'u:carol', 'u:dave']);
  store.addMessage({ ...fromBob('40'), from: 'carol' });
  assert.deepEqual(store.sorted().map((c) => c.key), ['u:carol', 'g:7', 'u:bob', 'u:dave']);
  store.addHistoryPage('u:bob', { messages: [fromBob('25')], more: false }, { direction: 'older' });
  assert.equal(store.sorted()[0].key, 'u:carol', 'history moves nothing');
  store.startSend('u:dave', 'c1', 'hi dave');
  store.ackSend({ type: 'ack', op: 'send', cmid: 'c1', id: '41', ts: 5 });
  assert.deepEqual(store.sorted().map((c) => c.key), ['u:dave', 'u:carol', 'g:7', 'u:bob']);
  assert.deepEqual([store.find('u:dave').last.text, store.find('u:dave').last.from], ['hi dave', 'alice']);
  // The next refresh takes the server's order again.
  store.applyList([{ peer: 'bob', last_id: '50', read_up_to: '0', unread: 1 }, { peer: 'dave', last_id: '41', read_up_to: '41', unread: 0 }]);
  assert.deepEqual(store.sorted().slice(0, 2).map((c) => c.key), ['u:bob', 'u:dave']);
});

test('mentions of this user by others are marked, from the event\'s flag, the list or @all', () => {
  const store = new ConversationStore('bob');
  const inGroup = (id, extra) => ({ type: 'message', id, from: 'alice', group: '7', text: 'hi', ts: 1, ...extra });
  store.addMessage(inGroup('1', { mentions: ['bob'], mentioned: true }));
  store.addMessage(inGroup('2', { mentions: ['carol'] }));
  store.addMessage(inGroup('3', { mentions_all: true }));
  store.addMessage({ ...inGroup('4', { mentions: ['bob'] }), from: 'bob' });
  store.addMessage(inGroup('5', { mentions: ['bob'], deleted: true }));
  assert.deepEqual(store.find('g:7').timeline().map((m) => m.mentionsMe), [true, false, true, false, false]);
  // An edit changes the mentions with the text.
  store.applyChange({ type: 'edit', id: '1', from: 'alice', group: '7', text: 'hi all', ts: 1, edited_at: 2 });
  assert.equal(store.find('g:7').messages.get('1').mentionsMe, false);
});

const between = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => fromBob(String(from + i)));

test('a jump into the middle replaces the loaded messages; pages older and newer then fill in, live ones wait', () => {
  const store = new ConversationStore('alice');
  store.addHistoryPage('u:bob', { messages: between(151, 200).reverse(), more: true }, { direction: 'newest' });
  const bob = store.find('u:bob');
  store.addAroundPage('u:bob', { around: '50', messages: between(30, 70), more_before: true, more_after: true });
  assert.deepEqual([bob.oldestId(), bob.loadedUpTo, bob.hasNewer, bob.hasOlder], ['30', '70', true, true]);
  assert.equal(bob.timeline().length, 41);
  store.addMessage(fromBob('201')); // live: kept, shown once the pages between are in
  assert.equal(bob.timeline().at(-1).id, '70');
  assert.equal(bob.newestShownId(), '70', 'a read mark covers only what was shown');
  store.addHistoryPage('u:bob', { messages: between(71, 120), more: true }, { direction: 'newer' });
  assert.equal(bob.loadedUpTo, '120');
  store.addHistoryPage('u:bob', { messages: between(121, 201), more: false }, { direction: 'newer' });
  assert.equal(bob.hasNewer, false);
  store.addHistoryPage('u:bob', { messages: between(1, 29).reverse(), more: false }, { direction: 'older' });
  assert.deepEqual(bob.timeline().map((m) => Number(m.id)), Array.from({ length: 201 }, (_, i) => i + 1));
  assert.equal(bob.hasOlder, false);
});

test('a jump within or next to what is loaded joins it; showing the newest again after a window starts afresh', () => {
  const store = new ConversationStore('alice');
  store.addHistoryPage('u:bob', { messages: between(51, 100).reverse(), more: true }, { direction: 'newest' });
  const bob = store.find('u:bob');
  store.addAroundPage('u:bob', { around: '40', messages: between(20, 60), more_before: true, more_after: true });
  assert.deepEqual([bob.oldestId(), bob.hasNewer, bob.messages.size], ['20', false, 81]);
  store.addAroundPage('u:bob', { around: '5', messages: between(1, 25), more_before: false, more_after: true });
  assert.deepEqual([bob.hasOlder, bob.hasNewer, bob.messages.size], [false, false, 100]);
  store.addAroundPage('u:bob', { around: '50', messages: between(30, 70), more_before: true, more_after: true });
  assert.deepEqual([bob.messages.size, bob.hasOlder, bob.hasNewer], [100, false, false], 'inside what is loaded: nothing changes');
  store.showNewest('u:bob');
  assert.equal(bob.messages.size, 100, 'already at the newest: kept');
  store.addAroundPage('u:carol', { around: '5', messages: [{ ...fromBob('5'), from: 'carol' }], more_before: true, more_after: true });
  store.showNewest('u:carol');
  const carol = store.find('u:carol');
  assert.deepEqual([carol.messages.size, carol.historyLoaded, carol.hasNewer, carol.hasOlder], [0, false, false, true]);
});

test('a history page asked for before the loaded messages were replaced is not merged', () => {
  const store = new ConversationStore('alice');
  store.addAroundPage('u:bob', { around: '50', messages: between(30, 70), more_before: true, more_after: true });
  const bob = store.find('u:bob');
  const askedAt = bob.generation;
  store.showNewest('u:bob'); // a send from the window, say
  store.addHistoryPage('u:bob', { messages: between(71, 120), more: true }, { direction: 'newer', generation: askedAt });
  assert.deepEqual([bob.messages.size, bob.hasNewer], [0, false]);
  store.addHistoryPage('u:bob', { messages: between(151, 200).reverse(), more: true }, { direction: 'newest', generation: bob.generation });
  assert.equal(bob.messages.size, 50);
});
