// The device name of this browser tab. A client id is `<user>:<device>`, and the broker disconnects a
// session when another connects with the same id, so two tabs must never share one; a reload, though,
// should keep its device (and so its sync position). Device names are kept per user in localStorage
// and each open tab holds one through a Web Lock, released by the browser when the tab goes.

const MAX_REMEMBERED = 10; // the server's default devices-per-user limit

export async function claimDevice(user, storage, locks) {
  const listKey = `chat.devices.${user}`;
  let known = [];
  try {
    const saved = JSON.parse(storage.getItem(listKey) ?? '[]');
    if (Array.isArray(saved)) known = saved.filter((d) => typeof d === 'string' && /^web-[0-9a-f]{8}$/.test(d));
  } catch {
    known = [];
  }
  for (const device of known) {
    if (!locks || (await holdWhileOpen(locks, `chat-device:${user}:${device}`))) return device;
  }
  let device;
  do device = newDeviceName();
  while (locks && !(await holdWhileOpen(locks, `chat-device:${user}:${device}`)));
  const remembered = [...known, device];
  for (const dropped of remembered.splice(0, Math.max(0, remembered.length - MAX_REMEMBERED))) {
    storage.removeItem(`chat.seq.${user}.${dropped}`);
  }
  storage.setItem(listKey, JSON.stringify(remembered));
  return device;
}

function newDeviceName() {
  const bytes = new Uint8Array(4);
  globalThis.crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// True when the lock was free: it is then held until the page goes away.
function holdWhileOpen(locks, name) {
  return new Promise((resolve) => {
    locks.request(name, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise(() => {}) : undefined;
    });
  });
}
