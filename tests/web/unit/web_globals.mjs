// Browser globals the page's modules use that Node 18 (Debian 12's) lacks: Web Crypto is global only
// from Node 19 on.
import { webcrypto } from 'node:crypto';

globalThis.crypto ??= webcrypto;
