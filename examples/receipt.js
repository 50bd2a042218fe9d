import { computeInvoiceTotal } from './invoice.js';

// Prints a receipt for a cart.
export function printReceipt(cart, taxRate) {
  const total = compute
  console.log(`Total: ${total.toFixed(2)}`);
}
