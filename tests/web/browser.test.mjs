// The web client in a real browser: two (and for a moment three) users in separate browser contexts,
// each a separate device, against the real broker and chat plugin. The steps build on each other, so
// they run in order; screenshots go to $SCREENSHOT_DIR.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ChatServer, launchBrowser } from './harness.mjs';

// CHAT_WEB_TLS=1: the page reaches the broker over wss:// (its TLS WebSocket listener), ctest's web_browser_tls.
const OVER_TLS = process.env.CHAT_WEB_TLS === '1';
const PRESENCE_TIMEOUT_SECONDS = 5;
const MAX_MESSAGE_CHARS = 500;
const PASSWORDS = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' };
const screenshotDir = process.env.SCREENSHOT_DIR ?? path.resolve('web-screenshots');
const WAIT = { timeout: 15000 };

let server;
let browser;
const users = {}; // name -> {context, page, link}

async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) });
}

// A browser context per user is a separate browser profile: its own storage and so its own device.
// Its WebSockets pass through a switch the test can open to cut the user off the network.
async function newUserContext(name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const link = { cut: false, sockets: new Set() };
  await context.routeWebSocket(/.*/, (pageSide) => {
    if (link.cut) {
      pageSide.close({ code: 4000, reason: 'cut off' });
      return;
    }
    const serverSide = pageSide.connectToServer();
    const pair = { pageSide, serverSide };
    link.sockets.add(pair);
    pageSide.onClose(() => {
      link.sockets.delete(pair);
      serverSide.close(); // a handler of our own replaces Playwright's forwarding of the close
    });
  });
  users[name] = { context, link, page: await context.newPage() };
  return users[name];
}

// Both ends of every connection close, as when the network goes; new ones fail until restored.
async function cutOff(user) {
  user.link.cut = true;
  for (const { pageSide, serverSide } of user.link.sockets) {
    await serverSide.close({ code: 4000, reason: 'cut off' });
    await pageSide.close({ code: 4000, reason: 'cut off' });
  }
  user.link.sockets.clear();
  await user.page.locator('#connection-status', { hasText: 'Reconnecting' }).waitFor(WAIT);
}

async function restore(user) {
  user.link.cut = false;
  await user.page.locator('#connection-status', { hasText: `Online as ` }).waitFor({ timeout: 40000 });
}

async function countOf(page, text) {
  return (await messageTexts(page)).filter((t) => t === text).length;
}

async function signIn(page, user) {
  await page.goto(server.url);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(PASSWORDS[user]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#connection-status', { hasText: `Online as ${user}` }).waitFor(WAIT);
}

function contactRow(page, user) {
  return page.locator(`li.contact[data-user="${user}"]`);
}

function conversationButton(page, key) {
  return page.locator(`button.conversation-button[data-key="${key}"]`);
}

async function sendFromComposer(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

async function messageTexts(page) {
  return page.locator('#message-list li.message .text').allTextContents();
}

async function storedIds(page) {
  return page.locator('#message-list li.message[data-state="stored"]').evaluateAll((items) => items.map((li) => li.dataset.id));
}

async function waitForTexts(page, expected) {
  await page.waitForFunction(
    (want) => {
      const have = [...document.querySelectorAll('#message-list li.message .text')].map((p) => p.textContent);
      return want.every((text) => have.includes(text));
    },
    expected,
    WAIT,
  );
}

before(async () => {
  server = await ChatServer.start({
    users: PASSWORDS,
    heartbeatSeconds: 1,
    tls: OVER_TLS,
    yaml: [
      'presence:',
      '  heartbeat_seconds: 1',
      `  timeout_seconds: ${PRESENCE_TIMEOUT_SECONDS}`,
      'limits:',
      `  max_message_chars: ${MAX_MESSAGE_CHARS}`,
      '  send_rate_per_second: 1000',
      '  send_burst: 1000',
      'auth:',
      '  pbkdf2_iterations: 1000',
      '',
    ].join('\n'),
  });
  browser = await launchBrowser(server);
});

after(async () => {
  for (const [name, { page }] of Object.entries(users)) {
    if (!page.isClosed()) await screenshot(page, `final-${name}`).catch(() => {});
  }
  await browser?.close();
  const failed = process.exitCode !== undefined && process.exitCode !== 0;
  if (failed) console.log(server?.brokerLog().split('\n').slice(-40).join('\n'));
  await server?.stop({ keep: failed });
});

test('two users sign in, become contacts and see each other online', async () => {
  const alice = await newUserContext('alice');
  const bob = await newUserContext('bob');
  await bob.page.goto(server.url);
  await bob.page.getByLabel('User name').fill('bob');
  await bob.page.getByLabel('Password').fill('not-bobs-password');
  await bob.page.getByRole('button', { name: 'Sign in' }).click();
  await bob.page.getByRole('alert').filter({ hasText: 'Sign-in refused' }).waitFor(WAIT);
  await Promise.all([signIn(alice.page, 'alice'), signIn(bob.page, 'bob')]);

  await alice.page.getByLabel('Add contact').fill('bob');
  await alice.page.getByRole('button', { name: 'Ask' }).click();
  await contactRow(alice.page, 'bob').and(alice.page.locator('[data-state="outgoing"]')).waitFor(WAIT);
  await contactRow(bob.page, 'alice').and(bob.page.locator('[data-state="incoming"]')).waitFor(WAIT);
  await bob.page.getByRole('button', { name: 'Accept alice' }).click();

  await contactRow(alice.page, 'bob').locator('.dot.online').waitFor(WAIT);
  await contactRow(bob.page, 'alice').locator('.dot.online').waitFor(WAIT);
  assert.equal(await contactRow(alice.page, 'bob').locator('.state').textContent(), 'online');
});

test('messages go both ways with their delivery state, unread counts and typing', async () => {
  const { page: alicePage } = users.alice;
  const { page: bobPage } = users.bob;
  await alicePage.getByRole('button', { name: 'Chat with bob' }).click();
  await sendFromComposer(alicePage, 'Hello Bob! 👋');
  const sent = alicePage.locator('#message-list li.message.mine', { hasText: 'Hello Bob! 👋' });
  await sent.and(alicePage.locator('[data-state="stored"]')).waitFor(WAIT);
  assert.match(await sent.getAttribute('data-id'), /^\d{15,20}$/, 'a stored message shows its server id');
  assert.equal(await sent.locator('.state').textContent(), 'Sent');

  await conversationButton(bobPage, 'u:alice').locator('.unread', { hasText: '1' }).waitFor(WAIT);
  await conversationButton(bobPage, 'u:alice').click();
  await waitForTexts(bobPage, ['Hello Bob! 👋']);
  await conversationButton(bobPage, 'u:alice').locator('.unread').waitFor({ state: 'detached', ...WAIT });

  await bobPage.getByLabel('Message', { exact: true }).fill('Hi Alice, good to');
  await alicePage.locator('#typing', { hasText: 'bob is typing…' }).waitFor(WAIT);
  await sendFromComposer(bobPage, 'Hi Alice, good to see you here.\nTwo lines, <b>not bold</b>.');
  await waitForTexts(alicePage, ['Hi Alice, good to see you here.\nTwo lines, <b>not bold</b>.']);
  assert.equal(await alicePage.locator('#message-list b').count(), 0, 'message text is never parsed as HTML');
  // bob's message ends the indicator at once (on its own it would stay 5 s)
  await alicePage.waitForFunction(() => document.getElementById('typing').textContent === '', null, { timeout: 2000 });
  assert.equal(await conversationButton(alicePage, 'u:bob').locator('.unread').count(), 0, 'an open conversation has nothing unread');

  assert.deepEqual(await messageTexts(alicePage), await messageTexts(bobPage), 'both see the same conversation');
  await screenshot(alicePage, 'conversation-alice');
  await screenshot(bobPage, 'conversation-bob');
});

test('a reload shows the history once, and what came while the page was closed', async () => {
  const alice = users.alice;
  const device = await alice.page.locator('#account-name').textContent();
  await alice.page.close();
  await sendFromComposer(users.bob.page, 'While you were away (1)');
  await sendFromComposer(users.bob.page, 'While you were away (2)');
  await users.bob.page.locator('#message-list li.message.mine[data-state="stored"]', { hasText: 'away (2)' }).waitFor(WAIT);

  alice.page = await alice.context.newPage();
  await signIn(alice.page, 'alice');
  assert.equal(await alice.page.locator('#account-name').textContent(), device, 'the same browser keeps its device');
  await conversationButton(alice.page, 'u:bob').locator('.unread', { hasText: '2' }).waitFor(WAIT);
  await conversationButton(alice.page, 'u:bob').click();
  const expected = ['Hello Bob! 👋', 'Hi Alice, good to see you here.\nTwo lines, <b>not bold</b>.', 'While you were away (1)', 'While you were away (2)'];
  await waitForTexts(alice.page, expected);
  assert.deepEqual(await messageTexts(alice.page), expected);

  await alice.page.reload(); // stays signed in: the tab keeps its session
  await alice.page.locator('#connection-status', { hasText: 'Online as alice' }).waitFor(WAIT);
  await conversationButton(alice.page, 'u:bob').click();
  await waitForTexts(alice.page, expected);
  await alice.page.waitForTimeout(500); // a late duplicate from sync or history would show by now
  assert.deepEqual(await messageTexts(alice.page), expected, 'no duplicates after a reload');
  const ids = await storedIds(alice.page);
  assert.equal(new Set(ids).size, ids.length);
});

test('a second device pages back through history by scrolling up, in order and without duplicates', async () => {
  const lines = Array.from({ length: 120 }, (_, i) => JSON.stringify({ to: 'alice', text: `carol #${i + 1}`, cmid: `c${i + 1}` }));
  server.publishLines('carol', PASSWORDS.carol, 'chat/v1/req/send', lines);
  await conversationButton(users.alice.page, 'u:carol').locator('.unread', { hasText: '120' }).waitFor(WAIT);

  // Another browser of alice's: a new device, which has seen none of it live.
  const laptop = await newUserContext('alice-laptop');
  await signIn(laptop.page, 'alice');
  await conversationButton(laptop.page, 'u:carol').locator('.unread', { hasText: '120' }).waitFor(WAIT);
  await conversationButton(laptop.page, 'u:carol').click();
  await waitForTexts(laptop.page, ['carol #120', 'carol #71']);
  assert.equal((await messageTexts(laptop.page)).length, 50, 'the first page is the newest 50');
  for (let pages = 0; pages < 10 && (await messageTexts(laptop.page)).length < 120; pages++) {
    const count = (await messageTexts(laptop.page)).length;
    await laptop.page.locator('#message-scroller').evaluate((el) => el.scrollTo(0, 0));
    await laptop.page.waitForFunction((n) => document.querySelectorAll('#message-list li.message').length > n, count, WAIT);
  }
  assert.deepEqual(await messageTexts(laptop.page), Array.from({ length: 120 }, (_, i) => `carol #${i + 1}`));
  assert.equal(await laptop.page.locator('#load-older').isHidden(), true, 'nothing older is left');
  // Reading on one device clears the unread count on the other.
  await conversationButton(users.alice.page, 'u:carol').locator('.unread').waitFor({ state: 'detached', ...WAIT });
  await laptop.context.close();
  delete users['alice-laptop'];
});

test('a too-long message shows the server\'s error; one at the limit is sent', async () => {
  const { page } = users.alice;
  await conversationButton(page, 'u:bob').click();
  await sendFromComposer(page, 'x'.repeat(MAX_MESSAGE_CHARS + 1));
  const failed = page.locator('#message-list li.message.failed');
  await failed.waitFor(WAIT);
  assert.equal(
    await failed.locator('.state').textContent(),
    `Not sent: text has ${MAX_MESSAGE_CHARS + 1} characters; the limit is ${MAX_MESSAGE_CHARS}`,
  );
  assert.equal(await failed.getByRole('button', { name: 'Retry' }).count(), 0, 'the same text would be refused again');
  await screenshot(page, 'too-long-error');
  await failed.getByRole('button', { name: 'Edit' }).click(); // back into the composer, to shorten
  await failed.waitFor({ state: 'detached', ...WAIT });
  assert.equal((await page.getByLabel('Message', { exact: true }).inputValue()).length, MAX_MESSAGE_CHARS + 1);

  await sendFromComposer(page, 'é'.repeat(MAX_MESSAGE_CHARS));
  await page.locator('#message-list li.message.mine[data-state="stored"]', { hasText: 'é'.repeat(MAX_MESSAGE_CHARS) }).waitFor(WAIT);
  await waitForTexts(users.bob.page, ['é'.repeat(MAX_MESSAGE_CHARS)]);
});

test('a group: create it, post, and add a member', async () => {
  const { page: alicePage } = users.alice;
  const { page: bobPage } = users.bob;
  await alicePage.getByLabel('Name', { exact: true }).fill('Team');
  await alicePage.getByLabel('Members (separated by commas)').fill('bob');
  await alicePage.getByRole('button', { name: 'Create group' }).click();
  await alicePage.locator('#conversation-title', { hasText: '# Team' }).waitFor(WAIT);
  await alicePage.locator('#conversation-subtitle', { hasText: 'alice (owner), bob (online)' }).waitFor(WAIT);
  await sendFromComposer(alicePage, 'Welcome to the team');

  const team = bobPage.locator('button.conversation-button', { hasText: '# Team' });
  await team.locator('.unread', { hasText: '1' }).waitFor(WAIT);
  await team.click();
  await waitForTexts(bobPage, ['Welcome to the team']);
  await sendFromComposer(bobPage, 'Glad to be here');
  await waitForTexts(alicePage, ['Glad to be here']);

  // carol is no contact of alice's: she is invited, and is a member once she accepts.
  await alicePage.getByLabel('Add member').fill('carol');
  await alicePage.getByRole('button', { name: 'Add', exact: true }).click();
  await alicePage.locator('#conversation-error', { hasText: 'Invited carol' }).waitFor(WAIT);
  const group = (await team.getAttribute('data-key')).slice(2);
  server.publishLines('carol', PASSWORDS.carol, 'chat/v1/req/group_join', [JSON.stringify({ group })]);
  await alicePage.locator('#conversation-subtitle', { hasText: 'alice (owner), bob (online), carol' }).waitFor(WAIT);
  assert.equal(await bobPage.locator('#group-add-form').isHidden(), true, 'only the owner adds members');
  await screenshot(alicePage, 'group');
});

test('an invitation from someone who is not a contact waits for an answer', async () => {
  const { page } = users.alice;
  server.publishLines('carol', PASSWORDS.carol, 'chat/v1/req/group_create', [JSON.stringify({ name: "Carol's club", members: ['alice'] })]);
  const invitation = page.locator('#invitation-list li.invitation', { hasText: "# Carol's club" });
  await invitation.waitFor(WAIT);
  assert.match(await invitation.textContent(), /from carol/);
  assert.equal(await page.locator('button.conversation-button', { hasText: "# Carol's club" }).count(), 0, 'not a member yet');
  await screenshot(page, 'invitation');
  await page.getByRole('button', { name: "Join Carol's club" }).click();
  await page.locator('#conversation-title', { hasText: "# Carol's club" }).waitFor(WAIT);
  await page.locator('#invitations').waitFor({ state: 'hidden', ...WAIT });
});

test('after a lost connection the page reconnects, catches up and sends what was typed, once', async () => {
  const alice = users.alice;
  const bobPage = users.bob.page;
  await conversationButton(alice.page, 'u:bob').click();
  await conversationButton(bobPage, 'u:alice').click();

  await cutOff(alice);
  const missed = ['Sent while you were cut off (1)', 'Sent while you were cut off (2)', 'Sent while you were cut off (3)'];
  for (const text of missed) await sendFromComposer(bobPage, text);
  await bobPage.locator('#message-list li.message.mine[data-state="stored"]', { hasText: 'cut off (3)' }).waitFor(WAIT);
  await sendFromComposer(alice.page, 'Typed while cut off');
  await alice.page.locator('#message-list li.message[data-state="sending"]', { hasText: 'Typed while cut off' }).waitFor(WAIT);

  await restore(alice);
  await waitForTexts(alice.page, [...missed, 'Typed while cut off']);
  await alice.page.locator('#message-list li.message[data-state="stored"]', { hasText: 'Typed while cut off' }).waitFor(WAIT);
  await waitForTexts(bobPage, ['Typed while cut off']);
  await alice.page.waitForTimeout(500); // a late duplicate would show by now
  for (const text of [...missed, 'Typed while cut off']) {
    assert.equal(await countOf(alice.page, text), 1, `${text}: once on alice's page`);
    assert.equal(await countOf(bobPage, text), 1, `${text}: once on bob's page`);
  }
  assert.deepEqual(await messageTexts(alice.page), await messageTexts(bobPage), 'the same conversation on both sides');
});

test('a message typed while cut off survives a reload and is sent once the network is back', async () => {
  const alice = users.alice;
  const bobPage = users.bob.page;
  await cutOff(alice);
  await sendFromComposer(alice.page, 'Typed before a reload');
  await alice.page.locator('#message-list li.message[data-state="sending"]', { hasText: 'Typed before a reload' }).waitFor(WAIT);
  await alice.page.reload(); // still cut off: the page keeps trying with its saved session
  await sendFromComposer(bobPage, 'Sent during the reload');

  await restore(alice);
  await conversationButton(alice.page, 'u:bob').click();
  await waitForTexts(alice.page, ['Typed before a reload', 'Sent during the reload']);
  await alice.page.locator('#message-list li.message[data-state="stored"]', { hasText: 'Typed before a reload' }).waitFor(WAIT);
  await waitForTexts(bobPage, ['Typed before a reload']);
  await alice.page.waitForTimeout(500);
  assert.equal(await countOf(alice.page, 'Typed before a reload'), 1);
  assert.equal(await countOf(bobPage, 'Typed before a reload'), 1);
  assert.equal(await countOf(alice.page, 'Sent during the reload'), 1);
});

test('every control has a label, and a conversation can be opened and answered with the keyboard alone', async () => {
  const { page } = users.alice;
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, textarea, button')]
      .filter((node) => !node.closest('[hidden]'))
      .filter((node) => !(node.labels?.length || node.getAttribute('aria-label') || node.textContent.trim()))
      .map((node) => node.outerHTML));
  assert.deepEqual(unlabelled, []);

  await conversationButton(page, 'u:carol').focus();
  await page.keyboard.press('Enter'); // opens it and puts the cursor in the message box
  await page.locator('#conversation-title', { hasText: 'carol' }).waitFor(WAIT);
  await page.keyboard.type('Sent with the keyboard');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('on two lines');
  await page.keyboard.press('Enter');
  await page.locator('#message-list li.message.mine[data-state="stored"]', { hasText: 'Sent with the keyboard' }).waitFor(WAIT);
  assert.equal(await page.locator('#message-list li.message.mine .text').last().textContent(), 'Sent with the keyboard\non two lines');
});

function conversationKeys(page) {
  return page.locator('#conversation-list button.conversation-button').evaluateAll((buttons) => buttons.map((b) => b.dataset.key));
}

function messageById(page, id) {
  return page.locator(`#message-list li.message[data-id="${id}"]`);
}

// Scrolls the open conversation to one end until `done` (a page function of the message texts) holds.
async function scrollUntil(page, end, done) {
  for (let pages = 0; pages < 10; pages++) {
    if (await page.evaluate(done, await messageTexts(page))) return;
    const count = (await messageTexts(page)).length;
    await page.locator('#message-scroller').evaluate((el, top) => el.scrollTo(0, top ? 0 : el.scrollHeight), end === 'top');
    await page.waitForFunction((n) => document.querySelectorAll('#message-list li.message').length > n, count, WAIT);
  }
}

test('the conversation list shows each last message with its time, newest first, and moves on a new one', async () => {
  const { page: alicePage } = users.alice;
  const { page: bobPage } = users.bob;
  const carol = conversationButton(alicePage, 'u:carol');
  assert.equal(await carol.locator('.preview-text').textContent(), 'Sent with the keyboard\non two lines');
  assert.equal(await carol.locator('.preview-from').textContent(), 'You: ');
  assert.match(await carol.locator('.preview-time').textContent(), /\d/);
  const team = alicePage.locator('button.conversation-button', { hasText: '# Team' });
  assert.equal(await team.locator('.preview').textContent(), 'bob: Glad to be here', 'a group\'s preview names its sender');
  assert.equal((await conversationKeys(alicePage))[0], 'u:carol');

  await conversationButton(bobPage, 'u:alice').click();
  await sendFromComposer(bobPage, 'Lunch tomorrow?');
  await conversationButton(alicePage, 'u:bob').locator('.preview-text', { hasText: 'Lunch tomorrow?' }).waitFor(WAIT);
  assert.equal((await conversationKeys(alicePage))[0], 'u:bob', 'a new message moves its conversation to the top');
  assert.equal(await conversationButton(alicePage, 'u:bob').locator('.preview-from').count(), 0, 'no sender in a 1:1 preview of theirs');
  await screenshot(alicePage, 'conversation-list-previews');

  const order = await conversationKeys(alicePage);
  await alicePage.reload();
  await alicePage.locator('#connection-status', { hasText: 'Online as alice' }).waitFor(WAIT);
  await alicePage.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('#conversation-list button.conversation-button')].map((b) => b.dataset.key)) === want,
    JSON.stringify(order),
    WAIT,
  );
  await conversationButton(alicePage, 'u:bob').locator('.preview-text', { hasText: 'Lunch tomorrow?' }).waitFor(WAIT);
});

test('a search finds a message whatever its case and accents, and opens its conversation there, paging on both ways', async () => {
  const after = Array.from({ length: 60 }, (_, i) => `carol after #${i + 1}`);
  server.publishLines('carol', PASSWORDS.carol, 'chat/v1/req/send', [
    JSON.stringify({ to: 'alice', text: 'Lunch at the Café Zoë?', cmid: 'cafe' }),
    ...after.map((text, i) => JSON.stringify({ to: 'alice', text, cmid: `a${i + 1}` })),
  ]);
  await conversationButton(users.alice.page, 'u:carol').locator('.preview-text', { hasText: 'carol after #60' }).waitFor(WAIT);

  // carol's first browser: nothing of the conversation loaded, so the hit opens through `around`.
  const { page } = await newUserContext('carol');
  await signIn(page, 'carol');
  await page.getByLabel('Search messages').fill('CAFE zo');
  const hit = page.locator('#search-results button.search-hit');
  await hit.waitFor(WAIT);
  assert.equal(await hit.count(), 1);
  assert.equal(await hit.locator('.hit-text').textContent(), 'Lunch at the Café Zoë?');
  assert.equal(await hit.locator('.hit-where').textContent(), 'alice');
  assert.equal(await hit.locator('.hit-from').textContent(), 'You');
  assert.match(await hit.locator('.hit-time').textContent(), /\d/);
  await page.getByLabel('Search messages').fill('?!');
  await page.locator('#search-status', { hasText: 'Type a word' }).waitFor(WAIT);
  assert.equal(await hit.count(), 0, 'no request without a word');
  await page.getByLabel('Search messages').fill('cafe');
  await hit.click();

  const jumped = page.locator('#message-list li.message.jumped');
  await jumped.waitFor(WAIT);
  assert.equal(await jumped.locator('.text').textContent(), 'Lunch at the Café Zoë?');
  assert.equal(await jumped.getAttribute('data-id'), await hit.getAttribute('data-id'));
  const visible = await jumped.evaluate((li) => {
    const box = li.getBoundingClientRect();
    const view = document.getElementById('message-scroller').getBoundingClientRect();
    return box.top >= view.top && box.bottom <= view.bottom;
  });
  assert.ok(visible, 'the hit is scrolled into view');
  const before = [...Array.from({ length: 19 }, (_, i) => `carol #${i + 102}`), 'Sent with the keyboard\non two lines'];
  assert.deepEqual(await messageTexts(page), [...before, 'Lunch at the Café Zoë?', ...after.slice(0, 20)], 'the window around the hit');
  await screenshot(page, 'search-jump');

  await scrollUntil(page, 'bottom', (texts) => texts.includes('carol after #60'));
  await scrollUntil(page, 'top', (texts) => texts.includes('carol #1'));
  const all = [...Array.from({ length: 120 }, (_, i) => `carol #${i + 1}`), 'Sent with the keyboard\non two lines', 'Lunch at the Café Zoë?', ...after];
  assert.deepEqual(await messageTexts(page), all, 'paged older and newer from the hit, in order and once');
  assert.equal(await page.locator('#load-newer').isHidden(), true);
  assert.equal(await page.locator('#load-older').isHidden(), true);

  // On alice's page the hit is loaded already: it is scrolled to and highlighted.
  const alicePage = users.alice.page;
  await alicePage.getByLabel('Search messages').fill('café');
  await alicePage.locator('#search-results button.search-hit').click();
  await alicePage.locator('#message-list li.message.jumped', { hasText: 'Lunch at the Café Zoë?' }).waitFor(WAIT);
  await alicePage.getByLabel('Search messages').fill('');
});

test('a mention is highlighted for the one mentioned only', async () => {
  const { page: alicePage } = users.alice;
  const { page: bobPage } = users.bob;
  const { page: carolPage } = users.carol;
  const text = '@bob could you book the table?';
  await alicePage.locator('button.conversation-button', { hasText: '# Team' }).click();
  await sendFromComposer(alicePage, text);
  for (const page of [bobPage, carolPage]) {
    await page.locator('button.conversation-button', { hasText: '# Team' }).click();
    await waitForTexts(page, [text]);
  }
  const onBobs = bobPage.locator('#message-list li.message', { hasText: text });
  assert.match(await onBobs.getAttribute('class'), /\bmentioned\b/);
  assert.equal(await onBobs.locator('.mention').textContent(), '@bob');
  const onCarols = carolPage.locator('#message-list li.message', { hasText: text });
  assert.doesNotMatch(await onCarols.getAttribute('class'), /\bmentioned\b/);
  assert.equal(await carolPage.locator('#message-list li.message.mentioned').count(), 0);
  await bobPage.locator('#mentions-new').waitFor(WAIT); // the Mentions button is marked for bob only
  assert.equal(await carolPage.locator('#mentions-new').isHidden(), true);
  await screenshot(bobPage, 'mention-bob');
  await users.carol.context.close();
  delete users.carol;
});

test('the Mentions panel lists the messages that mention bob, newest first, and opens one at its place', async () => {
  const { page: alicePage } = users.alice;
  const { page: bobPage } = users.bob;
  const mentionsButton = bobPage.locator('#mentions-button');
  const unseen = bobPage.locator('#mentions-new');
  const entries = bobPage.locator('#mention-list button.mention-hit');
  const asked = '@bob could you book the table?';

  // Marked since the step before; opening the panel clears the mark and lists that mention.
  await unseen.waitFor(WAIT);
  await mentionsButton.click();
  await unseen.waitFor({ state: 'hidden', ...WAIT });
  assert.equal(await mentionsButton.getAttribute('aria-expanded'), 'true');
  await entries.first().waitFor(WAIT);
  assert.equal(await entries.count(), 1);
  assert.equal(await entries.first().locator('.hit-text').textContent(), asked);
  assert.equal(await entries.first().locator('.hit-text .mention').textContent(), '@bob');
  assert.equal(await entries.first().locator('.hit-where').textContent(), '# Team');
  assert.equal(await entries.first().locator('.hit-from').textContent(), 'alice');
  assert.match(await entries.first().locator('.hit-time').textContent(), /\d/);
  assert.equal(await bobPage.locator('#mentions-more').isHidden(), true, 'one page holds them all');
  await mentionsButton.click();
  await bobPage.locator('#mentions-panel').waitFor({ state: 'hidden', ...WAIT });

  // A mention while bob reads another conversation marks the closed panel's button.
  await conversationButton(bobPage, 'u:alice').click();
  await alicePage.locator('button.conversation-button', { hasText: '# Team' }).click();
  const booked = 'Thanks @bob, the table is booked';
  await sendFromComposer(alicePage, booked);
  await unseen.waitFor(WAIT);
  await screenshot(bobPage, 'mentions-marked');
  await mentionsButton.click();
  await unseen.waitFor({ state: 'hidden', ...WAIT });
  await entries.first().locator('.hit-text', { hasText: booked }).waitFor(WAIT);
  assert.deepEqual(await entries.locator('.hit-text').allTextContents(), [booked, asked], 'newest first');

  // With the panel open, a new mention joins its list and marks nothing.
  const later = '@bob one more thing';
  await sendFromComposer(alicePage, later);
  await entries.first().locator('.hit-text', { hasText: later }).waitFor(WAIT);
  assert.deepEqual(await entries.locator('.hit-text').allTextContents(), [later, booked, asked]);
  assert.equal(await unseen.isHidden(), true);
  await screenshot(bobPage, 'mentions-panel');

  // A click opens the group at that message, highlighted, as a search hit does.
  const target = entries.nth(1);
  const targetId = await target.getAttribute('data-id');
  assert.equal(await target.getAttribute('data-key'), await alicePage.locator('button.conversation-button', { hasText: '# Team' }).getAttribute('data-key'));
  await target.click();
  await bobPage.locator('#conversation-title', { hasText: '# Team' }).waitFor(WAIT);
  const jumped = bobPage.locator('#message-list li.message.jumped');
  await jumped.waitFor(WAIT);
  assert.equal(await jumped.getAttribute('data-id'), targetId);
  assert.equal(await jumped.locator('.text').textContent(), booked);
  assert.match(await jumped.getAttribute('class'), /\bmentioned\b/);
  await screenshot(bobPage, 'mention-opened');
  await mentionsButton.click(); // closed for the steps after
  await bobPage.locator('#mentions-panel').waitFor({ state: 'hidden', ...WAIT });
});

test('alice edits and deletes her message; bob sees the new text, then a tombstone, live and after a sync', async () => {
  const alice = users.alice;
  const bob = users.bob;
  await conversationButton(alice.page, 'u:bob').click();
  await conversationButton(bob.page, 'u:alice').click();
  await sendFromComposer(alice.page, 'See you at 5');
  const sent = alice.page.locator('#message-list li.message.mine[data-state="stored"]', { hasText: 'See you at 5' });
  await sent.waitFor(WAIT);
  const id = await sent.getAttribute('data-id');
  await waitForTexts(bob.page, ['See you at 5']);
  assert.equal(await messageById(bob.page, id).getByRole('button', { name: 'Edit message' }).count(), 0, 'only one\'s own messages');

  const edit = async (messageId, text) => {
    await messageById(alice.page, messageId).getByRole('button', { name: 'Edit message' }).click();
    await alice.page.getByLabel('New text of the message').fill(text);
    await alice.page.getByLabel('New text of the message').press('Enter');
  };
  await edit(id, 'x'.repeat(MAX_MESSAGE_CHARS + 1));
  await alice.page.locator('#conversation-error', { hasText: `the limit is ${MAX_MESSAGE_CHARS}` }).waitFor(WAIT);
  await alice.page.getByLabel('New text of the message').fill('See you at 6');
  await alice.page.getByLabel('New text of the message').press('Enter');
  for (const page of [bob.page, alice.page]) {
    await messageById(page, id).locator('.edited', { hasText: '(edited)' }).waitFor(WAIT);
    assert.equal(await messageById(page, id).locator('.text').textContent(), 'See you at 6');
  }
  await screenshot(bob.page, 'edited');

  const remove = async (messageId) => {
    alice.page.once('dialog', (dialog) => dialog.accept());
    await messageById(alice.page, messageId).getByRole('button', { name: 'Delete message' }).click();
  };
  await remove(id);
  for (const page of [bob.page, alice.page]) {
    await messageById(page, id).locator('.tombstone', { hasText: 'Message deleted' }).waitFor(WAIT);
  }
  await conversationButton(bob.page, 'u:alice').locator('.preview-text', { hasText: 'Message deleted' }).waitFor(WAIT);
  assert.equal((await bob.page.content()).includes('See you at'), false, 'the old text is gone from bob\'s page');
  await screenshot(bob.page, 'deleted');

  // While bob is cut off: a message, its edit and its deletion reach him through sync as tombstones.
  await cutOff(bob);
  await sendFromComposer(alice.page, 'A secret plan');
  const secret = alice.page.locator('#message-list li.message.mine[data-state="stored"]', { hasText: 'A secret plan' });
  await secret.waitFor(WAIT);
  const secretId = await secret.getAttribute('data-id');
  await edit(secretId, 'A better secret plan');
  await messageById(alice.page, secretId).locator('.edited').waitFor(WAIT);
  await remove(secretId);
  await messageById(alice.page, secretId).locator('.tombstone').waitFor(WAIT);
  await restore(bob);
  await messageById(bob.page, secretId).locator('.tombstone', { hasText: 'Message deleted' }).waitFor(WAIT);
  assert.equal((await bob.page.content()).includes('secret plan'), false, 'no old text reaches bob');
  assert.equal(await countOf(bob.page, 'Lunch tomorrow?'), 1);
});

test('logging out shows the user offline at once', async () => {
  const { page: alicePage } = users.alice;
  const { page: bobPage } = users.bob;
  await contactRow(alicePage, 'bob').locator('.dot.online').waitFor(WAIT);
  const loggedOutAt = Date.now();
  await bobPage.getByRole('button', { name: 'Log out' }).click();
  await bobPage.getByRole('button', { name: 'Sign in' }).waitFor(WAIT);
  await contactRow(alicePage, 'bob').locator('.dot.offline').waitFor(WAIT);
  const seconds = (Date.now() - loggedOutAt) / 1000;
  assert.ok(seconds < PRESENCE_TIMEOUT_SECONDS, `offline after ${seconds} s: at once, not after the timeout`);
  await signIn(bobPage, 'bob');
  await contactRow(alicePage, 'bob').locator('.dot.online').waitFor(WAIT);
});

test('a user whose browser goes away is shown offline after the timeout', async () => {
  const { page: alicePage } = users.alice;
  await conversationButton(alicePage, 'u:bob').click();
  await contactRow(alicePage, 'bob').locator('.dot.online').waitFor(WAIT);
  const closedAt = Date.now();
  await users.bob.context.close(); // no logout: the connection just ends
  await contactRow(alicePage, 'bob').locator('.dot.offline').waitFor({ timeout: 30000 });
  const seconds = (Date.now() - closedAt) / 1000;
  assert.ok(seconds >= PRESENCE_TIMEOUT_SECONDS - 0.5, `offline after ${seconds} s: not before the timeout`);
  assert.match(await alicePage.locator('#conversation-subtitle').textContent(), /^offline, last seen /);
  await screenshot(alicePage, 'bob-offline');
});
