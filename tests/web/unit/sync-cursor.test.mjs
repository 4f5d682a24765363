import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SyncCursor } from '../../../clients/web/src/sync-cursor.js';
import { MemoryStorage } from './memory_storage.mjs';

test('a new device has no position and treats any event as a gap', () => {
  const cursor = new SyncCursor(new MemoryStorage(), 'alice', 'web-1');
  assert.equal(cursor.known, false);
  assert.equal(cursor.classify(1), 'gap');
});

test('the next event applies, an old one is a duplicate, a later one is a gap', () => {
  const cursor = new SyncCursor(new MemoryStorage(), 'alice', 'web-1');
  cursor.resetTo(7);
  assert.equal(cursor.classify(8), 'apply');
  assert.equal(cursor.classify(7), 'duplicate');
  assert.equal(cursor.classify(3), 'duplicate');
  assert.equal(cursor.classify(9), 'gap');
});

test('the position survives a reload, per user and device, and only moves forward', () => {
  const storage = new MemoryStorage();
  const cursor = new SyncCursor(storage, 'alice', 'web-1');
  cursor.resetTo(0);
  cursor.advanceTo(5);
  cursor.advanceTo(4);
  assert.equal(new SyncCursor(storage, 'alice', 'web-1').seq, 5);
  assert.equal(new SyncCursor(storage, 'alice', 'web-2').known, false);
  assert.equal(new SyncCursor(storage, 'bob', 'web-1').known, false);
});

test('a server whose queue is behind the device moves the position back', () => {
  const storage = new MemoryStorage();
  const cursor = new SyncCursor(storage, 'alice', 'web-1');
  cursor.resetTo(500);
  cursor.resetTo(3);
  assert.equal(new SyncCursor(storage, 'alice', 'web-1').seq, 3);
});

test('a damaged stored value counts as no position', () => {
  const storage = new MemoryStorage();
  storage.setItem('chat.seq.alice.web-1', 'twelve');
  assert.equal(new SyncCursor(storage, 'alice', 'web-1').known, false);
});
