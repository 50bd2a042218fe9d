/**
 * An answer that is an error: its HTTP status, one line saying why, and the headers it needs (Retry-After on 503).
 * Every refusal of the server is one of these, answered as `{"error": "<line>"}` before anything reaches the engine.
 */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * A waiting request replaced by a newer one from the same client (X-Lockstep-Client): 409 Conflict, `{"error":
 * "superseded"}`. The client usually no longer listens (the editor moved on); the answer says what happened if it does.
 */
export function superseded(): HttpError {
  return new HttpError(409, 'superseded');
}
