// Test harness for the web client: the real /usr/sbin/mosquitto with the built chat plugin on free
// loopback ports (RocksDB in a temporary folder), clients/web/serve.mjs in front of it, and Debian's
// chromium driven by playwright-core. Paths come from CTest's environment (tests/web/CMakeLists.txt).

import { spawn, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const sourceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run the test through ctest)`);
  return value;
}

function canListen(port, host) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, ipv6Only: false }, () => server.close(() => resolve(true)));
  });
}

// A port below the kernel's range for the local ports of connections (ip_local_port_range starts at
// 32768), free on every address, IPv4 and IPv6 (Mosquitto binds its WebSocket listener to all of them), as
// harness/child_process.cc's FreeLoopbackPort: a port the kernel picks is one a connection of another test
// may take, or hold in TIME_WAIT by the thousand after a benchmark, before the broker binds it.
async function freeLoopbackPort() {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await canListen(port, '::')) return port;
  }
  // No IPv6, or nothing free there: whatever the kernel picks on loopback.
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port, child, what) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not open port ${port}`);
}

// Under scripts/sanitize.sh the plugin is built with AddressSanitizer, whose runtime must be loaded into
// the (uninstrumented) broker first, as harness/broker_process.cc does for the C++ tests.
function sanitizerEnv() {
  const preload = process.env.CHAT_BROKER_PRELOAD;
  if (!preload) return process.env;
  let options = 'detect_leaks=0:abort_on_error=1';
  if (process.env.CHAT_SANITIZER_REPORTS) options += `:log_path=${process.env.CHAT_SANITIZER_REPORTS}/broker`;
  return { ...process.env, LD_PRELOAD: preload, ASAN_OPTIONS: options };
}

function startLogged(command, args, logFile, env = process.env) {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return child;
}

async function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

// The chat server as the quick start runs it, on its own ports and data folder.
export class ChatServer {
  // users: {name: password}; yaml: extra chat.yaml text (data_dir is set here). tls: the page talks to
  // the broker's TLS WebSocket listener (wss://localhost, a certificate from scripts/make-test-certs.sh);
  // launchBrowser(server) then trusts that certificate.
  static async start({ users, yaml = '', heartbeatSeconds = 5, tls = false }) {
    const server = new ChatServer();
    server.dir = mkdtempSync(path.join(os.tmpdir(), 'chat-web-test-'));
    server.chatYaml = path.join(server.dir, 'chat.yaml');
    server.mosquittoConf = path.join(server.dir, 'mosquitto.conf');
    const certs = path.join(server.dir, 'tls');
    if (tls) {
      const made = spawnSync('bash', [path.join(sourceDir, 'scripts/make-test-certs.sh'), certs], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`make-test-certs.sh: ${made.stderr}`);
      // Chromium trusts a certificate by the SHA-256 of its public key (--ignore-certificate-errors-spki-list):
      // the test's server certificate and nothing else, verified as usual otherwise.
      const certificate = new X509Certificate(readFileSync(path.join(certs, 'server.crt')));
      const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
      server.trustedSpki = createHash('sha256').update(spki).digest('base64');
    }
    writeFileSync(server.chatYaml, `data_dir: ${server.dir}/data\n${yaml}`);
    for (const [user, password] of Object.entries(users)) {
      const added = spawnSync(required('CHATCTL'), ['--config', server.chatYaml, 'user', 'add', user, '--password-stdin'], { input: password });
      if (added.status !== 0) throw new Error(`chatctl user add ${user}: ${added.stderr}`);
    }
    // A port free when picked can be taken before the broker binds it (another test's client gets it as
    // its ephemeral port): then other ports are picked and the broker started again, as the C++ harness does.
    for (let attempt = 1; ; attempt++) {
      await server.pickPorts(yaml, tls ? certs : null);
      try {
        await server.startBroker();
        break;
      } catch (error) {
        if (attempt === 5 || !/Address already in use|Unable to create/.test(server.brokerLog())) throw error;
        rmSync(path.join(server.dir, 'broker.log'), { force: true });
      }
    }
    const wsUrl = tls ? `wss://localhost:${server.tlsWsPort}` : undefined;

    const webPort = await freeLoopbackPort();
    server.web = startLogged(
      process.execPath,
      [path.join(sourceDir, 'clients/web/serve.mjs'), '--port', String(webPort), '--ws-url', wsUrl ?? `ws://127.0.0.1:${server.wsPort}`,
        '--heartbeat-seconds', String(heartbeatSeconds)],
      path.join(server.dir, 'web.log'),
    );
    await waitForPort(webPort, server.web, 'serve.mjs');
    server.url = `http://127.0.0.1:${webPort}/`;
    return server;
  }

  // New free ports for every listener, written into chat.yaml (the TLS ones: `yaml` is the test's own
  // settings, `certs` the TLS files or null) and mosquitto.conf.
  async pickPorts(yaml, certs) {
    const ports = new Set();
    const freshPort = async () => {
      let port;
      do port = await freeLoopbackPort();
      while (ports.has(port));
      ports.add(port);
      return port;
    };
    this.mqttPort = await freshPort();
    this.wsPort = await freshPort();
    let tlsYaml = '';
    if (certs) {
      this.tlsWsPort = await freshPort();
      tlsYaml = ['', 'tls:', '  address: 127.0.0.1', `  mqtt_port: ${await freshPort()}`, `  websockets_port: ${this.tlsWsPort}`,
        `  cert_file: ${certs}/server.crt`, `  key_file: ${certs}/server.key`, ''].join('\n');
    }
    writeFileSync(this.chatYaml, `data_dir: ${this.dir}/data\n${yaml}${tlsYaml}`);
    const conf = spawnSync(path.join(sourceDir, 'scripts/write-mosquitto-conf.sh'), [required('CHAT_PLUGIN'), this.chatYaml], {
      env: { ...process.env, MQTT_PORT: String(this.mqttPort), WS_PORT: String(this.wsPort) },
      encoding: 'utf8',
    });
    if (conf.status !== 0) throw new Error(`write-mosquitto-conf.sh: ${conf.stderr}`);
    writeFileSync(this.mosquittoConf, conf.stdout);
  }

  async startBroker() {
    this.broker = startLogged('/usr/sbin/mosquitto', ['-c', this.mosquittoConf], path.join(this.dir, 'broker.log'),
      sanitizerEnv());
    try {
      await waitForPort(this.mqttPort, this.broker, 'mosquitto');
      await waitForPort(this.wsPort, this.broker, 'mosquitto (WebSocket listener)');
      if (this.tlsWsPort) await waitForPort(this.tlsWsPort, this.broker, 'mosquitto (TLS WebSocket listener)');
    } catch (error) {
      await stopChild(this.broker);
      await new Promise((resolve) => setTimeout(resolve, 300));  // the log's last lines, piped after the exit
      error.message += `\nbroker.log:\n${this.brokerLog().slice(-2000)}`;
      throw error;
    }
  }

  async stopBroker() {
    await stopChild(this.broker);
  }

  // Publishes requests as `user` with the stock mosquitto_pub, one payload per line. While logins are
  // failing the server checks a first login off its event loop and closes the connection without a
  // CONNACK; mosquitto_sub reconnects until it is in (putting the login in the server's cache), so it goes
  // first and mosquitto_pub then gets straight in.
  publishLines(user, password, topic, lines) {
    const login = ['-h', '127.0.0.1', '-p', String(this.mqttPort), '-u', user, '-P', password];
    const warm = spawnSync('mosquitto_sub', [...login, '-i', `${user}:warm`, '-t', `chat/v1/user/${user}/reply`, '-E', '-W', '30'], {
      encoding: 'utf8',
      timeout: 40000,
    });
    if (warm.status !== 0) throw new Error(`mosquitto_sub (login): ${warm.stderr}`);
    const result = spawnSync('mosquitto_pub', [...login, '-i', `${user}:cli`, '-q', '1', '-t', topic, '-l'], {
      input: lines.join('\n') + '\n',
      encoding: 'utf8',
      timeout: 60000,
    });
    if (result.status !== 0) throw new Error(`mosquitto_pub: ${result.stderr}`);
  }

  brokerLog() {
    try {
      return readFileSync(path.join(this.dir, 'broker.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop({ keep = false } = {}) {
    await stopChild(this.web);
    await stopChild(this.broker);
    if (keep) console.log(`kept the server's folder: ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

// `server`: a ChatServer started with tls, whose certificate the browser is to trust.
export function launchBrowser(server = undefined) {
  const trust = server?.trustedSpki ? [`--ignore-certificate-errors-spki-list=${server.trustedSpki}`] : [];
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      ...trust,
      '--no-sandbox', // tests run as root in CI containers
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}
