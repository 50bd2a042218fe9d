/** Who may talk to the server: loopback addresses, and the bearer token compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** True for a host that only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return isLoopback(h.slice('::ffff:'.length));
  return false;
}

/**
 * Whether an Authorization header carries `token` as a bearer token. Both sides are hashed first so that
 * timingSafeEqual compares equal-length digests: neither the token's bytes nor its length leak through timing.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const given = createHash('sha256').update(m ? m[1].trim() : '').digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}
