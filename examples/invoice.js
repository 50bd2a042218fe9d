/** The total of an invoice: the sum of its items' prices with tax. */
export function computeInvoiceTotal(items, taxRate) {
  const net = items.reduce((sum, item) => sum + item.price * item.quantity, 0);
  return net * (1 + taxRate);
}
