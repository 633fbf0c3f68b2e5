/**
 * The local allow and deny lists' shapes, types only: the store, the control commands, the
 * console's routes and its browser code import this one declaration.
 */
export type ListName = 'allow' | 'deny';

export interface ListEntry {
  list: ListName;
  /** The name; the entry covers everything under it too. */
  domain: string;
  /** Milliseconds since the epoch. */
  addedAt: number;
  addedBy: string;
  comment?: string;
}
