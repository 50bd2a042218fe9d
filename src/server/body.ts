/** A request's JSON body, read with a size limit: too big → 413 (the reading stops), not JSON → 400. */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './httpError';

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooBig(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooBig(maxBytes);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'the request has no body: expected a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HttpError(400, `the body is not JSON: ${(e as Error).message}`);
  }
}

function tooBig(maxBytes: number): HttpError {
  return new HttpError(413, `the body is over the limit of ${maxBytes} bytes (--max-body)`);
}
