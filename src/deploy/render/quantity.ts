import * as z from '../../util/zod.js';

// Kubernetes resource quantities, checked here so a typo ("200GB", "2 cores") is a values error
// at render time instead of an API-server rejection at apply time.

const binary = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const suffixes: Record<string, number> = { '': 1, ...binary, ...decimal };

const quantityPattern = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;

/** The value of a quantity (`200Gi` → bytes, `500m` → 0.5), or undefined when it is not one. */
export function quantityValue(text: string): number | undefined {
  const match = quantityPattern.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * suffixes[match[2] ?? '']!;
}

/** CPU: cores or millicores (`2`, `1.5`, `500m`), more than zero. */
export const cpuQuantity = z.string().refine((text) => (quantityValue(text) ?? 0) > 0, {
  error: 'must be a CPU quantity such as 2, 1.5 or 500m',
});

/** Memory or storage: bytes with a binary or decimal suffix (`200Gi`, `512Mi`), at least 1 MiB. */
export const byteQuantity = z
  .string()
  .refine((text) => !text.endsWith('m') && (quantityValue(text) ?? 0) >= 2 ** 20, {
    error: 'must be a size such as 200Gi, 512Mi or 50G (at least 1Mi)',
  });
