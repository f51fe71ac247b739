/**
 * The compressed-data path (src/z/, owned separately) as this package calls
 * it: the contract types, and `loadZ` returning the module.
 */
import * as z from './z/index.js';

export type { ZImage, ZInode, ZExtent, ZReader } from './z/index.js';

/** The compressed-data path's entry points. */
export interface ZModule {
  openZInode: typeof z.openZInode;
}

/** The compressed-data path (kept behind a function so it could be split out of a browser bundle later). */
export function loadZ(): Promise<ZModule> {
  return Promise.resolve(z);
}
