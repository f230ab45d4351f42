// The console test's machinery: a real fieldbook-server (the workspace's
// cargo build), the fixture that feeds it real signed device events, and
// a small OpenID Connect provider (RS256 ID tokens, PKCE checked) that
// also serves a page from another origin for the cross-site test.
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const run = promisify(execFile);
const BIN = process.env.FIELDBOOK_BIN_DIR || path.resolve('../../target/debug');

export const TOKEN = crypto.randomBytes(24).toString('hex');

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'fieldbook-console-'));
}

/// Starts fieldbook-server; resolves once it prints its address.
export async function startServer({ db, port, extra = [], env = {} }) {
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--db', db,
    '--requests-per-second', '1000', '--enrolments-per-minute', '1000', ...extra];
  const child = spawn(path.join(BIN, 'fieldbook-server'), args, {
    env: { ...process.env, FIELDBOOK_OFFICE_TOKEN: TOKEN, RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  return { url, child, stop: () => child.kill('SIGTERM'), stderr: () => stderr };
}

export async function createAdmin(db, username, password) {
  await run(path.join(BIN, 'fieldbook-server'), ['create-admin', '--username', username, '--name', 'Avery Admin', '--db', db], {
    env: { ...process.env, FIELDBOOK_ADMIN_PASSWORD: password },
  });
}

export async function fixture(cmd, url, dir, extra = []) {
  const { stdout } = await run(path.join(BIN, 'fieldbook-console-fixture'), [cmd, '--url', url, '--dir', dir, ...extra], {
    env: { ...process.env, FIELDBOOK_OFFICE_TOKEN: TOKEN },
    timeout: 120000,
  });
  return JSON.parse(stdout.trim().split('\n').pop());
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/// A minimal OpenID Connect provider for the test: it signs in whoever
/// `provider.user` names without asking, checks the PKCE verifier, and
/// signs ID tokens with RS256 (or, with `provider.forge`, with a key it
/// does not publish).
export async function startProvider(port) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rogue = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const issuer = `http://127.0.0.1:${port}`;
  const codes = new Map();
  const provider = { issuer, user: 'sso.user', forge: false, clientId: 'fieldbook-console', tokenRequests: 0, pkceFailures: 0, evilTarget: null };
  const sign = (claims, key) => {
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'test-key' }));
    const body = b64url(JSON.stringify(claims));
    const sig = crypto.sign('sha256', Buffer.from(`${head}.${body}`), key);
    return `${head}.${body}.${b64url(sig)}`;
  };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, issuer);
    const json = (status, v) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(v)); };
    if (u.pathname === '/.well-known/openid-configuration') {
      return json(200, { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'], id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'] });
    }
    if (u.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (u.pathname === '/authorize') {
      const p = u.searchParams;
      if (p.get('client_id') !== provider.clientId || p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge')) {
        return json(400, { error: 'invalid_request' });
      }
      const code = crypto.randomBytes(16).toString('hex');
      codes.set(code, { challenge: p.get('code_challenge'), nonce: p.get('nonce'), redirect: p.get('redirect_uri') });
      const back = new URL(p.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', p.get('state'));
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (u.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        provider.tokenRequests += 1;
        const p = new URLSearchParams(body);
        const grant = codes.get(p.get('code'));
        codes.delete(p.get('code'));
        if (!grant || p.get('redirect_uri') !== grant.redirect || p.get('client_id') !== provider.clientId) {
          return json(400, { error: 'invalid_grant' });
        }
        const expected = b64url(crypto.createHash('sha256').update(p.get('code_verifier') || '').digest());
        if (expected !== grant.challenge) { provider.pkceFailures += 1; return json(400, { error: 'invalid_grant' }); }
        const now = Math.floor(Date.now() / 1000);
        const idToken = sign({ iss: issuer, aud: provider.clientId, sub: `sub-${provider.user}`, nonce: grant.nonce,
          iat: now, exp: now + 300, preferred_username: provider.user }, provider.forge ? rogue : privateKey);
        return json(200, { access_token: 'unused', token_type: 'Bearer', id_token: idToken, expires_in: 300 });
      });
      return undefined;
    }
    if (u.pathname === '/evil') {
      // Another site's page that posts a form to the console at once.
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<!doctype html><html lang="en"><title>Prize</title><body>
        <form id="f" method="post" action="${provider.evilTarget}"><input name="officer" value="po-ben"><input name="csrf" value="guess"></form>
        <script>document.getElementById('f').submit()</script></body></html>`);
    }
    res.writeHead(404); return res.end();
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  provider.close = () => new Promise((resolve) => server.close(resolve));
  return provider;
}
