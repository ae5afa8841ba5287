import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * A port on 127.0.0.1 that is free for both TCP and UDP at the time of the
 * call (a DNS server needs both). Another process may still take it before
 * the caller binds, so harnesses retry on "address in use".
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freeTcpPort();
    if (await udpPortIsFree(port)) return port;
  }
  throw new Error('freePort: found no port on 127.0.0.1 free for both TCP and UDP after 20 attempts');
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function udpPortIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}
