/**
 * Rendezvous (highest random weight) hashing: a key goes to the node with the highest
 * weight(node, key). Removing a node moves only that node's keys (each to its next-highest
 * node); adding it back moves exactly those keys home. Every client computes the same
 * placement from the same list of nodes, in any order, with no coordination.
 *
 * weight = fmix32(fnv1a32(key) XOR fnv1a32(node)), over the UTF-16 code units of the strings:
 * clients in other languages must compute the same to agree with this one.
 */

/** FNV-1a, 32 bits, over UTF-16 code units. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finalizer: spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A node's name (its target URL) hashed once. */
export interface Weighted {
  readonly seed: number;
}

/**
 * The node `key` goes to among `nodes` (undefined when there are none). Ties, which need equal
 * 32-bit weights, go to the node first in the list.
 */
export function place<N extends Weighted>(key: string, nodes: readonly N[]): N | undefined {
  const k = fnv1a32(key);
  let best: N | undefined;
  let bestWeight = -1;
  for (const n of nodes) {
    const w = fmix32(k ^ n.seed);
    if (w > bestWeight) {
      best = n;
      bestWeight = w;
    }
  }
  return best;
}
