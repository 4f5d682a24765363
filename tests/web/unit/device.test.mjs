import assert from 'node:assert/strict';
import { test } from 'node:test';
import './web_globals.mjs';
import { claimDevice } from '../../../clients/web/src/device.js';
import { MemoryStorage } from './memory_storage.mjs';

// Web Locks as one browser has them: a lock is held until its tab (here: release()) goes.
class FakeLocks {
  constructor() {
    this.held = new Set();
  }

  request(name, options, callback) {
    assert.equal(options.ifAvailable, true);
    if (this.held.has(name)) return Promise.resolve(callback(null));
    this.held.add(name);
    const holding = Promise.resolve(callback({ name }));
    holding.then(() => this.held.delete(name));
    return holding;
  }

  releaseAll() {
    this.held.clear();
  }
}

test('a reload keeps its device; a second tab at the same time gets another', async () => {
  const storage = new MemoryStorage();
  const locks = new FakeLocks();
  const first = (await claimDevice('alice', storage, locks)).device;
  assert.match(first, /^web-[0-9a-f]{8}$/);
  const secondTab = (await claimDevice('alice', storage, locks)).device;
  assert.notEqual(secondTab, first);
  locks.releaseAll(); // both tabs reloaded
  assert.equal((await claimDevice('alice', storage, locks)).device, first);
  assert.equal((await claimDevice('alice', storage, locks)).device, secondTab);
});

test('a logout releases the device, so the next login in that tab gets it back', async () => {
  const storage = new MemoryStorage();
  const locks = new FakeLocks();
  const { device, release } = await claimDevice('alice', storage, locks);
  release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal((await claimDevice('alice', storage, locks)).device, device);
});

test('devices are per user', async () => {
  const storage = new MemoryStorage();
  const locks = new FakeLocks();
  const alice = (await claimDevice('alice', storage, locks)).device;
  const bob = (await claimDevice('bob', storage, locks)).device;
  locks.releaseAll();
  assert.equal((await claimDevice('bob', storage, locks)).device, bob);
  assert.equal((await claimDevice('alice', storage, locks)).device, alice);
});

test('at most ten devices are remembered; a forgotten one takes its sync position with it', async () => {
  const storage = new MemoryStorage();
  const locks = new FakeLocks();
  const devices = [];
  for (let i = 0; i < 11; i++) {
    devices.push((await claimDevice('alice', storage, locks)).device);
    storage.setItem(`chat.seq.alice.${devices.at(-1)}`, String(i));
  }
  const remembered = JSON.parse(storage.getItem('chat.devices.alice'));
  assert.deepEqual(remembered, devices.slice(1));
  assert.equal(storage.getItem(`chat.seq.alice.${devices[0]}`), null);
});

test('without Web Locks each tab keeps its own device in its session storage', async () => {
  const storage = new MemoryStorage();
  const firstTab = new MemoryStorage();
  const device = (await claimDevice('alice', storage, undefined, firstTab)).device;
  assert.equal((await claimDevice('alice', storage, undefined, firstTab)).device, device, 'a reload keeps it');
  const secondTab = (await claimDevice('alice', storage, undefined, new MemoryStorage())).device;
  assert.notEqual(secondTab, device, 'another tab gets another');
  assert.deepEqual(JSON.parse(storage.getItem('chat.devices.alice')), [device, secondTab]);
});

test('a damaged device list is replaced', async () => {
  const storage = new MemoryStorage();
  storage.setItem('chat.devices.alice', '{not json');
  assert.match((await claimDevice('alice', storage, new FakeLocks())).device, /^web-[0-9a-f]{8}$/);
  storage.setItem('chat.devices.alice', JSON.stringify(['alice:evil', 'web-0123abcd']));
  assert.equal((await claimDevice('alice', storage, new FakeLocks())).device, 'web-0123abcd');
});
