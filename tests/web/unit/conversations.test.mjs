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
  store.addHistoryPage('u:bob', { messages: [fromBob('384049709653692418'), fromBob('384049709653692417')], more: false }, { newest: true });
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
  store.addHistoryPage('u:bob', { messages: [fromBob('5')], more: true }, { newest: true });
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
  store.addHistoryPage('u:bob', { messages: [], more: false }, { newest: true });
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
  store.addHistoryPage('u:bob', { messages: [fromBob('1')], more: false }, { newest: true });
  store.forgetMessages();
  const bob = store.find('u:bob');
  assert.equal(bob.messages.size, 0);
  assert.equal(bob.historyLoaded, false);
  assert.equal(bob.hasOlder, true);
});
