/** Session cost from energy and a decimal tariff, in exact integer arithmetic (no float rounding drift). */

const SCALE = 1_000_000n;

function toMicro(decimal: string): bigint {
  const [whole = '0', frac = ''] = decimal.split('.');
  return BigInt(whole) * SCALE + BigInt(frac.padEnd(6, '0').slice(0, 6));
}

/** cost = wh / 1000 × pricePerKWh, rounded half up to cents, as a decimal string like "12.34". */
export function sessionCost(wh: number, pricePerKWh: string): string {
  const micro = (BigInt(Math.max(0, Math.floor(wh))) * toMicro(pricePerKWh)) / 1000n;
  const cents = (micro + 5_000n) / 10_000n;
  const fraction = (cents % 100n).toString().padStart(2, '0');
  return `${cents / 100n}.${fraction}`;
}
