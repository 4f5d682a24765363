// The device name of this browser tab. A client id is `<user>:<device>`, and the broker disconnects a
// session when another connects with the same id, so two tabs must never share one; a reload, though,
// should keep its device (and so its sync position). Device names are kept per user in localStorage
// and each open tab holds one through a Web Lock, released on logout or by the browser when the tab goes.
// Returns {device, release}.

const MAX_REMEMBERED = 10; // the server's default devices-per-user limit

export async function claimDevice(user, storage, locks, tabStorage) {
  // Without Web Locks (an insecure context such as http://<LAN address>) tabs cannot tell which devices
  // are in use, so each tab keeps its own in its session storage: a reload keeps it, a new tab gets one.
  if (!locks) {
    const tabKey = `chat.device.${user}`;
    let device = tabStorage.getItem(tabKey);
    if (!isDeviceName(device)) {
      device = newDeviceName();
      tabStorage.setItem(tabKey, device);
      remember(storage, user, readList(storage, user), device);
    }
    return { device, release: () => {} };
  }
  const known = readList(storage, user);
  for (const device of known) {
    const release = await holdWhileOpen(locks, `chat-device:${user}:${device}`);
    if (release) return { device, release };
  }
  for (;;) {
    const device = newDeviceName();
    const release = await holdWhileOpen(locks, `chat-device:${user}:${device}`);
    if (!release) continue;
    remember(storage, user, known, device);
    return { device, release };
  }
}

function isDeviceName(text) {
  return typeof text === 'string' && /^web-[0-9a-f]{8}$/.test(text);
}

function readList(storage, user) {
  try {
    const saved = JSON.parse(storage.getItem(`chat.devices.${user}`) ?? '[]');
    return Array.isArray(saved) ? saved.filter(isDeviceName) : [];
  } catch {
    return [];
  }
}

// Remembers a new device; the oldest beyond MAX_REMEMBERED are forgotten with their sync positions.
function remember(storage, user, known, device) {
  const remembered = [...known, device];
  for (const dropped of remembered.splice(0, Math.max(0, remembered.length - MAX_REMEMBERED))) {
    storage.removeItem(`chat.seq.${user}.${dropped}`);
  }
  storage.setItem(`chat.devices.${user}`, JSON.stringify(remembered));
}

function newDeviceName() {
  const bytes = new Uint8Array(4);
  globalThis.crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// When the lock is free: a function that releases it (else it is held until the page goes); else null.
function holdWhileOpen(locks, name) {
  return new Promise((resolve) => {
    locks.request(name, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(null);
        return undefined;
      }
      return new Promise((release) => resolve(release));
    });
  });
}
