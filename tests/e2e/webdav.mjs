// Real WebDAV servers on 127.0.0.1 for the sync tests: Debian's Apache httpd with
// mod_dav (strict: conditional requests, ETags) and `rclone serve webdav`. Each is
// started in a temporary folder, with Basic auth, and stopped by `stop()`.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const USER = 'sync-user';
export const PASS = 'App-Pass-5521';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Stops a server started here, if it still runs; resolves once it has exited. */
async function stopChild(child, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

async function waitForPort(port, child, log) {
  const end = Date.now() + 15000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`the server stopped: ${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : ''}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not start');
}

/** Every file of `dir`, recursively: [{name, bytes}]. */
export function filesOf(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesOf(full).map((f) => ({ ...f, name: `${e.name}/${f.name}` })));
    else out.push({ name: e.name, bytes: fs.readFileSync(full) });
  }
  return out;
}

/** One line of an htpasswd file (SHA-1, which mod_authn_file reads). */
function htpasswd(user, pass) {
  try {
    return execFileSync('htpasswd', ['-nbB', user, pass], { encoding: 'utf8' }).trim();
  } catch {
    const sha = execFileSync('sh', ['-c', `printf %s "$0" | openssl dgst -sha1 -binary | base64`, pass], { encoding: 'utf8' }).trim();
    return `${user}:{SHA}${sha}`;
  }
}

/**
 * Apache httpd with mod_dav_fs serving `/dav/` (Basic auth; the folder `/dav/tk/` is
 * made by the extension's MKCOL). Gives {url, dir, port, stop, restart}.
 */
export async function startApache() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-apache-'));
  const dir = path.join(root, 'www/dav');
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(root, 'lock'));
  fs.writeFileSync(path.join(root, 'htpasswd'), `${htpasswd(USER, PASS)}\n`);
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // httpd will not serve as root: its workers run as www-data, who must write here.
    fs.chmodSync(root, 0o755);
    fs.chmodSync(path.join(root, 'www'), 0o755);
    execFileSync('chown', ['-R', 'www-data:www-data', dir, path.join(root, 'lock')]);
  }
  const mods = '/usr/lib/apache2/modules';
  const conf = path.join(root, 'httpd.conf');
  fs.writeFileSync(conf, `
ServerRoot "${root}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile "${root}/httpd.pid"
ErrorLog "${root}/error.log"
LogLevel warn
LoadModule mpm_event_module ${mods}/mod_mpm_event.so
LoadModule authn_core_module ${mods}/mod_authn_core.so
LoadModule authn_file_module ${mods}/mod_authn_file.so
LoadModule authz_core_module ${mods}/mod_authz_core.so
LoadModule authz_user_module ${mods}/mod_authz_user.so
LoadModule auth_basic_module ${mods}/mod_auth_basic.so
LoadModule dav_module ${mods}/mod_dav.so
LoadModule dav_fs_module ${mods}/mod_dav_fs.so
${asRoot ? 'User www-data\nGroup www-data' : ''}
LogFormat "%h \\"%r\\" %>s" short
CustomLog "${root}/access.log" short
DavLockDB "${root}/lock/DavLock"
DocumentRoot "${root}/www"
LimitRequestBody 0
<Directory />
  Require all denied
</Directory>
<Directory "${dir}">
  Dav On
  AuthType Basic
  AuthName "Threadkeeper test"
  AuthBasicProvider file
  AuthUserFile "${root}/htpasswd"
  Require valid-user
</Directory>
`);
  let child;
  const start = async () => {
    child = spawn('/usr/sbin/apache2', ['-f', conf, '-DFOREGROUND'], { stdio: 'ignore', env: { ...process.env, APACHE_RUN_DIR: root, APACHE_LOCK_DIR: root, APACHE_LOG_DIR: root } });
    await waitForPort(port, child, path.join(root, 'error.log'));
  };
  await start();
  const stop = () => stopChild(child);
  return {
    name: 'apache',
    port,
    dir: path.join(dir, 'tk'),
    url: `http://127.0.0.1:${port}/dav/tk/`,
    accessLog: () => (fs.existsSync(path.join(root, 'access.log')) ? fs.readFileSync(path.join(root, 'access.log'), 'utf8') : ''),
    stop,
    restart: start,
    async close() {
      await stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** `rclone serve webdav` over a temporary folder (the extension's folder is `tk/`). */
export async function startRclone() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-rclone-'));
  const dir = path.join(root, 'data');
  fs.mkdirSync(dir);
  const port = await freePort();
  let child;
  const log = path.join(root, 'rclone.log');
  const start = async () => {
    child = spawn('rclone', ['serve', 'webdav', dir, '--addr', `127.0.0.1:${port}`, '--user', USER, '--pass', PASS, '--config', '/dev/null', '--log-file', log], { stdio: 'ignore' });
    await waitForPort(port, child, log);
  };
  await start();
  const stop = () => stopChild(child);
  /** Kills the server at once (SIGKILL: no request finishes, nothing is flushed). */
  const kill = () => stopChild(child, 'SIGKILL');
  return {
    name: 'rclone',
    port,
    dir: path.join(dir, 'tk'),
    url: `http://127.0.0.1:${port}/tk/`,
    stop,
    kill,
    restart: start,
    async close() {
      await stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
