import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { findProgram, makeTempDir, removeTempDir, startDaemon, startOnFreePort } from './daemon.js';
import { tempPathDirectives } from './nginx.js';

/**
 * A real nginx serving HTTPS with a certificate and key exactly as a user
 * installs them from the downloaded bundle.
 */
export async function startTlsNginx(files: { certificate: string; key: string }): Promise<{ port: number; stop(): Promise<void> }> {
  const nginx = findProgram('nginx');
  const dir = makeTempDir('nginx-tls');
  const { daemon, port } = await startOnFreePort(async (port) => {
    const config = join(dir, 'nginx.conf');
    await writeFile(
      config,
      `master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  ${tempPathDirectives(nginx, dir).join('\n  ')}
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${files.certificate};
    ssl_certificate_key ${files.key};
    location / { return 200 "served by nginx with the certdesk bundle\\n"; }
  }
}
`,
    );
    return startDaemon({
      name: 'nginx (tls)',
      program: nginx,
      args: ['-p', dir, '-e', join(dir, 'error.log'), '-c', config, '-g', 'daemon off;'],
      cwd: dir,
      ready: () =>
        new Promise((resolve) => {
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
    });
  });
  return {
    port,
    async stop() {
      await daemon.stop();
      await removeTempDir(dir);
    },
  };
}
