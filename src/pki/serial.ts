import { randomPool } from '../random_pool.js';

/**
 * A 16-byte certificate serial from the CSPRNG. The top bit is cleared (a
 * positive INTEGER needs no sign byte) and the next one set, so the serial is
 * never zero, always encodes in exactly 16 octets and carries 126 random bits.
 */
export function randomSerial(): Buffer {
  // A copy: the pool's bytes are reused once handed out.
  const serial = Buffer.from(randomPool.take(16));
  serial[0] = ((serial[0] as number) & 0x3f) | 0x40;
  return serial;
}

/** Lowercase hex without leading zero bytes, the form used to name a serial everywhere. */
export function serialHex(serial: Uint8Array): string {
  let start = 0;
  while (start < serial.length - 1 && serial[start] === 0) start++;
  return Buffer.from(serial.buffer, serial.byteOffset + start, serial.length - start).toString('hex');
}
