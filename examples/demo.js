'use strict';

/**
 * Inventory report: groups stock records by warehouse and totals their value.
 */

const DEFAULT_CURRENCY = 'EUR';

function parseRecord(line) {
  const [sku, warehouse, quantity, unitPrice] = line.split(',').map((s) => s.trim());
  return { sku, warehouse, quantity: Number(quantity), unitPrice: Number(unitPrice) };
}

function groupBy(items, keyOf) {
  const groups = new Map();
  for (const item of items) {
    const key = keyOf(item);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).
  }
  return groups;
}

function formatMoney(amount, currency = DEFAULT_CURRENCY) {
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(amount);
}

function summarize(csv) {
  const records = csv.split('\n').filter((line) => line.trim() !== '').map(parseRecord);
  const byWarehouse = groupBy(records, (r) => r.warehouse);
  const rows = [];
  for (const [warehouse, items] of byWarehouse) {
    const units = items.reduce((sum, r) => sum + r.quantity, 0);
    const value = items.reduce((sum, r) => sum + r.quantity * r.unitPrice, 0);
    rows.push({ warehouse, skus: items.length, units, value: formatMoney(value) });
  }
  rows.sort((a, b) => a.warehouse.localeCompare(b.warehouse));
  return rows;
}

module.exports = { parseRecord, groupBy, formatMoney, summarize };
