import assert from 'node:assert/strict';
import { test } from 'node:test';
import './web_globals.mjs';
import {
  clientId, compareIds, conversationKey, conversationTarget, hasSearchWord, isValidName, maxId, newCmid, parsePayload,
  presenceUser, sendTarget, splitMentions, topics,
} from '../../../clients/web/src/protocol.js';

test('names follow the protocol alphabet and length', () => {
  assert.ok(isValidName('alice'));
  assert.ok(isValidName('A.b_c-9'));
  assert.ok(isValidName('x'.repeat(64)));
  assert.ok(!isValidName('x'.repeat(65)));
  assert.ok(!isValidName(''));
  assert.ok(!isValidName('al ice'));
  assert.ok(!isValidName('alice:phone'));
  assert.ok(!isValidName('a/b'));
  assert.ok(!isValidName(undefined));
  assert.equal(clientId('alice', 'web-0a1b2c3d'), 'alice:web-0a1b2c3d');
});

test('topics are the ones PROTOCOL.md names', () => {
  assert.equal(topics.request('send'), 'chat/v1/req/send');
  assert.equal(topics.mine('alice'), 'chat/v1/user/alice/#');
  assert.equal(topics.events('alice'), 'chat/v1/user/alice/msg');
  assert.equal(topics.replies('alice'), 'chat/v1/user/alice/reply');
  assert.equal(topics.presence('bob'), 'chat/v1/presence/bob');
  assert.equal(presenceUser('chat/v1/presence/bob'), 'bob');
  assert.equal(presenceUser('chat/v1/user/bob/msg'), null);
});

test('ids above 2^53 compare exactly, as numbers rather than text', () => {
  assert.equal(compareIds('384049709653692417', '384049709653692416'), 1); // equal as JavaScript numbers
  assert.equal(compareIds('99', '100'), -1); // "99" > "100" as text
  assert.equal(compareIds('5', '5'), 0);
  assert.equal(maxId(null, '7'), '7');
  assert.equal(maxId('384049709653692417', '384049709653692416'), '384049709653692417');
});

test('conversation keys for 1:1, notes to self and groups', () => {
  assert.equal(conversationKey('alice', { from: 'bob', to: 'alice' }), 'u:bob');
  assert.equal(conversationKey('alice', { from: 'alice', to: 'bob' }), 'u:bob');
  assert.equal(conversationKey('alice', { from: 'alice', to: 'alice' }), 'u:alice');
  assert.equal(conversationKey('alice', { from: 'bob', group: '42' }), 'g:42');
  assert.equal(conversationKey('alice', { peer: 'carol' }), 'u:carol');
  assert.deepEqual(conversationTarget('u:bob'), { peer: 'bob' });
  assert.deepEqual(conversationTarget('g:42'), { group: '42' });
  assert.deepEqual(sendTarget('u:bob'), { to: 'bob' });
  assert.deepEqual(sendTarget('g:42'), { group: '42' });
});

test('payloads are JSON objects or nothing', () => {
  assert.deepEqual(parsePayload(new TextEncoder().encode('{"type":"ack","id":"1"}')), { type: 'ack', id: '1' });
  assert.equal(parsePayload(new TextEncoder().encode('[1,2]')), null);
  assert.equal(parsePayload(new TextEncoder().encode('null')), null);
  assert.equal(parsePayload(new TextEncoder().encode('{"broken"')), null);
  assert.equal(parsePayload(new Uint8Array([0xff, 0xfe])), null);
});

test('cmids are unique printable ASCII of at most 64 characters', () => {
  const seen = new Set();
  for (let i = 0; i < 1000; i++) {
    const cmid = newCmid();
    assert.match(cmid, /^[\x21-\x7e]{1,64}$/);
    seen.add(cmid);
  }
  assert.equal(seen.size, 1000);
});

test('mentions are split out of a text: only the names the server found, without a trailing full stop', () => {
  const pieces = splitMentions('hi @bob. and a@bob, @carol @all!', ['bob', 'all']);
  assert.deepEqual(pieces, [
    { text: 'hi ', mention: false },
    { text: '@bob', mention: true },
    { text: '. and a@bob, @carol ', mention: false },
    { text: '@all', mention: true },
    { text: '!', mention: false },
  ]);
  assert.deepEqual(splitMentions('no mentions', []), [{ text: 'no mentions', mention: false }]);
  assert.deepEqual(splitMentions('@b.c', ['b.c']), [{ text: '@b.c', mention: true }]);
});

test('a search query needs a word', () => {
  assert.equal(hasSearchWord('  '), false);
  assert.equal(hasSearchWord('?!'), false);
  assert.equal(hasSearchWord('café'), true);
  assert.equal(hasSearchWord('회의'), true);
});
