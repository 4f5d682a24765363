#!/usr/bin/env node
// Serves the web client: its static files, MQTT.js's browser bundle and /config.json (which tells the
// page where the broker's WebSocket listener is). Loopback only by default; nothing here talks to the
// broker. Usage:
//   node serve.mjs [--host 127.0.0.1] [--port 8081] [--ws-url ws://127.0.0.1:8080] [--heartbeat-seconds 5]

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8081' },
    'ws-url': { type: 'string', default: 'ws://127.0.0.1:8080' },
    'heartbeat-seconds': { type: 'string', default: '5' },
  },
});

const wsUrl = new URL(args['ws-url']);
if (wsUrl.protocol !== 'ws:' && wsUrl.protocol !== 'wss:') throw new Error(`--ws-url must be ws:// or wss://, got ${wsUrl}`);
const heartbeatSeconds = Number(args['heartbeat-seconds']);
if (!Number.isInteger(heartbeatSeconds) || heartbeatSeconds < 1) throw new Error('--heartbeat-seconds must be a whole number >= 1');

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

// Every path the server answers, and nothing else: no directory listing, no path from the request
// ever reaches the file system.
const routes = new Map([
  ['/', path.join(here, 'public/index.html')],
  ['/style.css', path.join(here, 'public/style.css')],
  ['/vendor/mqtt.esm.js', path.join(here, 'node_modules/mqtt/dist/mqtt.esm.js')],
]);
for (const module of ['app', 'connection', 'conversations', 'device', 'mentions', 'protocol', 'sync-cursor']) {
  routes.set(`/src/${module}.js`, path.join(here, `src/${module}.js`));
}

const configJson = JSON.stringify({ websocketUrl: wsUrl.href.replace(/\/$/, ''), heartbeatSeconds });

// The page may load only its own files and talk only to the broker's WebSocket.
const securityHeaders = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${wsUrl.origin.replace(/^http/, 'ws')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

const server = http.createServer(async (request, response) => {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD', ...securityHeaders }).end();
    return;
  }
  let pathname;
  try {
    pathname = new URL(request.url, 'http://localhost').pathname;
  } catch {
    response.writeHead(400, securityHeaders).end();
    return;
  }
  let body;
  let type;
  if (pathname === '/config.json') {
    body = configJson;
    type = 'application/json';
  } else if (routes.has(pathname)) {
    const file = routes.get(pathname);
    try {
      body = await readFile(file);
    } catch {
      response.writeHead(500, securityHeaders).end(`missing ${path.relative(here, file)}: run npm ci in clients/web\n`);
      return;
    }
    type = TYPES[path.extname(file)];
  } else {
    response.writeHead(404, { 'Content-Type': 'text/plain', ...securityHeaders }).end('not found\n');
    return;
  }
  response.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...securityHeaders });
  response.end(request.method === 'HEAD' ? undefined : body);
});

server.listen(Number(args.port), args.host, () => {
  const { address, port } = server.address();
  console.log(`web: serving http://${address}:${port}/ (broker WebSocket ${wsUrl.href})`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
