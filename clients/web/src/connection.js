// One MQTT-over-WebSocket connection to the chat server (MQTT.js): login, the user's subscriptions,
// requests matched to their replies by rid, heartbeats, and reconnecting with exponential backoff and
// jitter after a lost connection. It knows topics and payload envelopes, not what a message means.

import mqtt from '/vendor/mqtt.esm.js';
import { clientId, parsePayload, presenceUser, topics } from './protocol.js';

const REQUEST_TIMEOUT_MS = 15000;
const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 30000;
const KEEPALIVE_SECONDS = 30; // the server accepts 1..300; a dead socket is noticed within 1.5x this
// A signed-in user refused later may have had their password changed or be over the device limit:
// retry a few times, slowly, before giving up.
const REFUSED_RETRY_MS = 60000;
const REFUSED_RETRIES = 3;
const BYE_TIMEOUT_MS = 2000;
// A server checking a password off its event loop closes the connection before any CONNACK; the next
// attempt, soon after, finds the answer. Tried this often before the sign-in gives up.
const CHECKING_RETRY_MS = 300;
const CHECKING_RETRIES = 20;

export class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class ChatConnection {
  // handlers: connected(), disconnected({retryInMs}), refused(), event(payload), sendResult(reply),
  // presence(payload)
  constructor({ url, user, password, device, heartbeatSeconds }, handlers) {
    this.options = { url, user, password, device, heartbeatSeconds };
    this.on = handlers;
    this.client = null;
    this.connected = false;
    this.stopped = false;
    this.everConnected = false;
    this.refused = false;
    this.refusedRetries = 0;
    this.failedAttempts = 0;
    this.checkingRetries = 0;
    this.reachedServer = false; // the WebSocket opened, so CONNECT went out
    this.retryTimer = null;
    this.heartbeatTimer = null;
    this.nextRid = 1;
    this.waiting = new Map(); // rid -> {resolve, reject, timer}
    this.presenceWatched = new Set();
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  connect() {
    const { url, user, password, device } = this.options;
    const client = mqtt.connect(url, {
      clientId: clientId(user, device),
      username: user,
      password,
      protocolVersion: 4,
      clean: true, // the sync queue, not the broker's session, carries what was missed
      keepalive: KEEPALIVE_SECONDS,
      reconnectPeriod: 0, // reconnecting is ours, with backoff
      connectTimeout: 10000,
      resubscribe: false,
    });
    this.client = client;
    this.reachedServer = false;
    // MQTT.js's browser stream says 'connect' once the WebSocket is open (CONNECT is buffered until then).
    client.stream?.once?.('connect', () => {
      if (client === this.client) this.reachedServer = true;
    });
    client.on('connect', () => this.onConnected(client));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (error) => {
      // CONNACK 4/5: the server refused the login (the reason is not told). Retrying cannot help.
      if (error?.code === 4 || error?.code === 5) this.refused = true;
    });
    client.on('close', () => this.onClosed(client));
  }

  onConnected(client) {
    if (client !== this.client) return;
    this.connected = true;
    this.everConnected = true;
    this.failedAttempts = 0;
    this.refusedRetries = 0;
    this.checkingRetries = 0;
    client.subscribe(topics.mine(this.options.user), { qos: 1 });
    for (const user of this.presenceWatched) client.subscribe(topics.presence(user), { qos: 0 });
    this.heartbeatTimer = setInterval(() => this.publish('heartbeat', {}, 0), this.options.heartbeatSeconds * 1000);
    this.on.connected();
  }

  onClosed(client) {
    if (client !== this.client) return;
    const wasConnected = this.connected;
    this.connected = false;
    clearInterval(this.heartbeatTimer);
    for (const [rid, entry] of this.waiting) {
      clearTimeout(entry.timer);
      entry.reject(new RequestError('disconnected', 'the connection was lost'));
      this.waiting.delete(rid);
    }
    client.removeAllListeners();
    client.end(true);
    if (this.stopped) return;
    const refused = this.refused;
    this.refused = false;
    if (refused && (!this.everConnected || this.refusedRetries++ >= REFUSED_RETRIES)) {
      this.stopped = true;
      this.on.refused({ wasSignedIn: this.everConnected });
      return;
    }
    if (wasConnected) this.failedAttempts = 0;
    // Closed after CONNECT and before any CONNACK: the server is checking the password.
    const checking = !wasConnected && !refused && this.reachedServer && this.checkingRetries < CHECKING_RETRIES;
    let ceiling = refused ? REFUSED_RETRY_MS : Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failedAttempts);
    if (checking) {
      ceiling = CHECKING_RETRY_MS * 2;
      this.checkingRetries++;
    } else {
      this.failedAttempts++;
    }
    const retryInMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, retryInMs);
    this.on.disconnected({ retryInMs, refused, checking });
  }

  // Retry now instead of waiting for the backoff (the user asked, or the browser came back online).
  retryNow() {
    if (this.connected || this.stopped || this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  onMessage(topic, bytes) {
    const payload = parsePayload(bytes);
    if (!payload) return;
    const { user } = this.options;
    try {
      if (topic === topics.replies(user)) this.onReply(payload);
      else if (topic === topics.events(user)) this.on.event(payload);
      else if (presenceUser(topic) !== null) this.on.presence(payload);
    } catch (error) {
      // One payload the page cannot use (a newer server's, say) must not stop the ones after it.
      console.error('chat: could not handle a message on', topic, error);
    }
  }

  onReply(reply) {
    const entry = reply.rid !== undefined ? this.waiting.get(reply.rid) : undefined;
    if (entry) {
      this.waiting.delete(reply.rid);
      clearTimeout(entry.timer);
      if (reply.type === 'error') entry.reject(new RequestError(reply.code, reply.message));
      else entry.resolve(reply);
    } else if (reply.op === 'send' || reply.type === 'ack') {
      this.on.sendResult(reply);
    }
  }

  publish(op, body, qos = 1) {
    if (!this.connected) return false;
    this.client.publish(topics.request(op), JSON.stringify(body), { qos });
    return true;
  }

  // A request whose reply (or error) comes back on the reply topic with the same rid.
  request(op, body = {}) {
    if (!this.connected) return Promise.reject(new RequestError('disconnected', 'not connected'));
    const rid = `r${this.nextRid++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        reject(new RequestError('timeout', `no answer to ${op}`));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(rid, { resolve, reject, timer });
      this.publish(op, { ...body, rid });
    });
  }

  // Presence topics to follow; kept across reconnects.
  watchPresence(users) {
    const wanted = new Set(users);
    for (const user of this.presenceWatched) {
      if (!wanted.has(user) && this.connected) this.client.unsubscribe(topics.presence(user));
    }
    for (const user of wanted) {
      if (!this.presenceWatched.has(user) && this.connected) this.client.subscribe(topics.presence(user), { qos: 0 });
    }
    this.presenceWatched = wanted;
  }

  // Log out: `bye` makes the user offline at once instead of after the server's timeout. A dead
  // connection gets a short wait for bye's PUBACK, then is dropped.
  async logout() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    const client = this.client;
    if (!client) return;
    client.removeAllListeners('connect'); // a connection still being made must not start a session now
    if (!this.connected) {
      client.end(true);
      return;
    }
    const within = (promise) => Promise.race([promise, new Promise((resolve) => setTimeout(resolve, BYE_TIMEOUT_MS))]);
    await within(new Promise((resolve) => client.publish(topics.request('bye'), '{}', { qos: 1 }, resolve)));
    await within(new Promise((resolve) => client.end(false, {}, resolve))); // DISCONNECT
    client.stream?.destroy(); // closed by now, unless the socket is dead: then end() never finishes
  }
}
