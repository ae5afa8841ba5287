import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { findProgram, makeTempDir, removeTempDir, startDaemon, startOnFreePort } from './daemon.js';

export interface NginxServer {
  port: number;
  /** The document root; files under it are served at the same URL path. */
  root: string;
  /** Writes `content` at `urlPath` (e.g. '/.well-known/pki-validation/x.txt') under root, creating dirs. */
  writeFile(urlPath: string, content: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real nginx serving a temp dir over plain http on 127.0.0.1 and a free
 * port, for any Host header. One process (master_process off), everything it
 * writes (pid, logs, temp files) stays in its temp dir.
 */
export async function startNginx(): Promise<NginxServer> {
  const nginx = findProgram('nginx');
  const dir = makeTempDir('nginx');
  const root = join(dir, 'www');
  try {
    await mkdir(root);
    const { daemon, port } = await startOnFreePort(async (port) => {
      const config = join(dir, 'nginx.conf');
      await writeFile(config, nginxConf(dir, root, port, tempPathDirectives(nginx, dir)));
      return startDaemon({
        name: 'nginx',
        program: nginx,
        // -e: the startup error log, opened before the config is read.
        args: ['-p', dir, '-e', join(dir, 'error.log'), '-c', config, '-g', 'daemon off;'],
        cwd: dir,
        ready: () => answersHttp(port),
      });
    });
    return {
      port,
      root,
      async writeFile(urlPath, content) {
        const segments = urlPath.split('/');
        if (!urlPath.startsWith('/') || segments.some((s) => s === '..' || s === '.')) {
          throw new Error(`writeFile: "${urlPath}" must be an absolute URL path without . or .. segments`);
        }
        const file = join(root, ...segments);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, content);
      },
      async stop() {
        await daemon.stop();
        await removeTempDir(dir);
      },
    };
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

function nginxConf(dir: string, root: string, port: number, tempPaths: string[]): string {
  return `master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  ${tempPaths.join('\n  ')}
  types { text/plain txt; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    server_name _;
    root ${root};
  }
}
`;
}

/**
 * The build's temp dirs point at /var/lib/nginx; move each one this build has
 * into the temp dir (naming one it lacks would be an "unknown directive").
 */
export function tempPathDirectives(nginx: string, dir: string): string[] {
  const { stdout, stderr } = spawnSync(nginx, ['-V'], { encoding: 'utf8' });
  const version = stdout + stderr;
  const kinds = [...version.matchAll(/--http-([a-z-]+)-temp-path=/g)].map((m) => (m[1] ?? '').replace(/-/g, '_'));
  return [...new Set(kinds)]
    .filter((kind) => kind === 'client_body' || !version.includes(`--without-http_${kind}_module`))
    .map((kind) => `${kind}_temp_path ${join(dir, `${kind}_temp`)};`);
}

function answersHttp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 500 }, (response) => {
      response.resume();
      resolve(true);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
  });
}
