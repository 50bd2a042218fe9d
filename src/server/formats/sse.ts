/**
 * Server-sent events as llama-server and OpenAI write them: one `data: <json>` line and a blank line per event.
 * OpenAI's stream ends with `data: [DONE]`; llama.cpp's /completion and /infill streams end with their final
 * `stop: true` event instead (llama-server sends no [DONE] there, and its clients do not wait for one).
 */
export const SSE_DONE = 'data: [DONE]\n\n';

export function sseEvent(data: Record<string, unknown>): string {
  // JSON.stringify never emits a raw newline, so one event is always one `data:` line.
  return `data: ${JSON.stringify(data)}\n\n`;
}
