/** Dependency-free helpers shared with the load generator process (which must start fast). */

/** A small, fast, seeded generator (mulberry32): the same seed gives the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A version-4-shaped UUID from the seeded generator. */
export function uuidFrom(random: () => number): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(random() * 4)]}${hex(3)}-${hex(12)}`;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export interface LoadSpec {
  /** base URL of the API */
  url: string;
  /** paths to request, picked at random (seeded) per request */
  paths: string[];
  headers?: Record<string, string>;
  /** requests per second, over all connections */
  rate: number;
  /** seconds */
  duration: number;
  connections?: number;
  seed?: number;
  /** paced (default, open loop) or autocannon (for comparison) */
  engine?: 'paced' | 'autocannon';
}

export interface LoadResult {
  requests: number;
  /** achieved requests per second */
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** how late the generator sent its requests (p99, ms) */
  lagP99: number;
  /** the generator's own CPU per request (ms), where it measures it: it shares the machine's cores */
  cpuMsPerRequest?: number;
}

