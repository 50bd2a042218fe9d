/**
 * The ui session's cross-file context check, with real keystrokes: invoice.js defines computeInvoiceTotal, checkout.js
 * imports it; typing in checkout.js must send invoice.js's snippet with the request, the engine must put it into the
 * prompt in the project's repository format, the ghost text must be the generated completion, and the same keystrokes
 * with another drafter must give the same bytes (context on). A second file that does not import invoice.js gets its
 * snippet from the open tab. Whether the small model actually writes computeInvoiceTotal is reported, never asserted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { INVOICE_JS } from '../helpers/invoice';
import { LIMITS, log, sleep } from './common';
import { GHOST_TEXT, noSpace, typeAndWaitForGhost } from './ghost';
import type { Host, HostRecord } from './hostClient';

const CHECKOUT_JS = ["import { computeInvoiceTotal } from './invoice.js';", '', 'export function checkout(cart, taxRate) {', '  ', '}', ''].join('\n');
const RECEIPT_JS = ['// Prints a receipt for a cart.', 'export function printReceipt(cart, taxRate) {', '  ', '}', ''].join('\n');
const AT = { line: 3, character: 2 };
const TYPE = 'const total = ';
const IDENTIFIER = 'computeInvoiceTotal';

type Check = (name: string, ok: boolean, detail: string) => void;

interface PromptView {
  text: string;
  tokens: number;
}

export async function runContextCheck(page: Page, h: Host, ws: string, check: Check): Promise<void> {
  const invoice = path.join(ws, 'invoice.js');
  fs.writeFileSync(invoice, INVOICE_JS);
  // Imports only, first: the context is then exactly invoice.js whatever else the session opened before.
  await h.call('setSetting', { key: 'context.sources', field: 'contextSources', value: ['imports'] });
  const used: string[] = [];
  let first: { record: HostRecord; file: string } | undefined;
  for (const drafter of ['auto', 'none']) {
    if (drafter !== 'auto') await h.call('setSetting', { key: 'drafter', value: drafter }, LIMITS.engineMs);
    // The same file both times: its path is part of the prompt.
    const file = path.join(ws, 'checkout.js');
    const t = await trigger(page, h, file, CHECKOUT_JS);
    if (!t) {
      check(`context (drafter ${drafter}): a completion in checkout.js`, false, `no completion within ${LIMITS.ghostMs / 1000} s`);
      break;
    }
    const r = t.record;
    const snippet = r.context?.snippets.find((s) => s.path === 'invoice.js');
    check(`context (drafter ${drafter}): the request carries invoice.js's snippet, the imported definition`,
      r.context?.path === path.basename(file) && snippet !== undefined && snippet.text === INVOICE_JS,
      `sent: ${JSON.stringify(r.context?.snippets.map((s) => s.path) ?? [])} for ${r.context?.path ?? 'no context'}`);
    check(`context (drafter ${drafter}): the engine put it into the prompt`, JSON.stringify(r.result?.contextFiles) === '["invoice.js"]',
      `result.contextFiles ${JSON.stringify(r.result?.contextFiles)}, ${r.result?.contextTokens ?? 0} context tokens of ${r.result?.promptTokens ?? '?'}`);
    const p = await h.call<PromptView>('prompt', { path: file, line: r.line, character: r.character, context: r.context });
    const head = `<|endoftext|>invoice.js\n${INVOICE_JS}<|endoftext|>${path.basename(file)}\n<|fim_prefix|>`;
    check(`context (drafter ${drafter}): the prompt is in the project's repository format, ${p.tokens} tokens as the engine counted`,
      p.text.startsWith(head) && p.tokens === r.result?.promptTokens, JSON.stringify(p.text.slice(0, 90)));
    if (!t.empty) {
      check(`context (drafter ${drafter}): the ghost text shown is the generated completion`, t.ghost === noSpace(r.text), JSON.stringify(r.text.slice(0, 60)));
    }
    used.push(`${drafter}: ${r.fullText.includes(IDENTIFIER) ? 'uses' : 'does not use'} ${IDENTIFIER} (${JSON.stringify(r.fullText.slice(0, 60))})`);
    if (first === undefined) first = { record: r, file };
    else {
      check('context: the same keystrokes with drafter none give the same bytes',
        r.fullText === first.record.fullText && r.seed === first.record.seed && !r.fromCache,
        `${JSON.stringify(first.record.fullText.slice(0, 40))} vs ${JSON.stringify(r.fullText.slice(0, 40))}`);
    }
  }
  await h.call('setSetting', { key: 'drafter', value: 'auto' }, LIMITS.engineMs);

  // Open editors: receipt.js imports nothing and never names computeInvoiceTotal; invoice.js open in a tab is the
  // source. `compute` is typed so that the identifier is one the model could copy from the snippet: whether it does
  // (with the context, and with it off) is reported.
  await h.call('setSetting', { key: 'context.sources', field: 'contextSources', value: ['openEditors'] });
  for (const on of [true, false]) {
    if (!on) await h.call('setSetting', { key: 'context.enable', field: 'contextEnable', value: false });
    await h.call('closeAll');
    await h.call('open', { path: invoice, line: 0, character: 0 });
    const t = await trigger(page, h, path.join(ws, 'receipt.js'), RECEIPT_JS, false, `${TYPE}compute`);
    const sent = t?.record.context?.snippets.map((s) => s.path) ?? [];
    if (on) {
      check('context: a file open in another tab is a source', sent.includes('invoice.js') && (t?.record.result?.contextFiles ?? []).includes('invoice.js'),
        `sent ${JSON.stringify(sent)}; in the prompt ${JSON.stringify(t?.record.result?.contextFiles)}`);
    } else {
      check('context off: nothing is sent', t !== undefined && t.record.context === undefined && t.record.result?.contextFiles === undefined, '');
    }
    const wrote = t === undefined ? 'no completion' : `compute${t.record.fullText.slice(0, 40)}`;
    used.push(`open tab, context ${on ? 'on' : 'off'}, after "compute": ${wrote.startsWith('computeInvoiceTotal') ? 'completes' : 'does not complete'} ${IDENTIFIER} (${JSON.stringify(wrote)})`);
  }
  await h.call('setSetting', { key: 'context.enable', field: 'contextEnable', value: undefined });
  log(`ui: context: the completion and ${IDENTIFIER} — ${used.join('; ')}`);
  await h.call('setSetting', { key: 'context.sources', field: 'contextSources', value: undefined });
  await h.call('closeAll');
}

/** Writes `file`, opens it at AT (closing the other editors first unless told not to), types `type`, waits. */
async function trigger(page: Page, h: Host, file: string, text: string, closeOthers = true, type = TYPE): Promise<{ record: HostRecord; empty: boolean; ghost: string } | undefined> {
  if (closeOthers) await h.call('closeAll');
  fs.writeFileSync(file, text);
  await h.call('clearCache');
  await h.call('open', { path: file, line: AT.line, character: AT.character });
  await page.locator('.monaco-editor.focused').first().waitFor({ timeout: 30_000 });
  for (let attempt = 0; attempt < 2; attempt++) {
    if (attempt > 0) {
      // A lost keystroke must not fail CI: the same file and keystrokes once more.
      await h.call('closeAll');
      fs.writeFileSync(file, text);
      await h.call('open', { path: file, line: AT.line, character: AT.character });
      await page.locator('.monaco-editor.focused').first().waitFor({ timeout: 30_000 });
    }
    const t = await typeAndWaitForGhost(page, h, type, AT.line, 20_000);
    if (t.timedOut || !t.record) continue;
    await sleep(300); // the lines below the cursor line may be laid out a frame later
    return { record: t.record, empty: t.empty, ghost: t.empty ? '' : ((await page.evaluate(GHOST_TEXT)) as string) };
  }
  return undefined;
}
