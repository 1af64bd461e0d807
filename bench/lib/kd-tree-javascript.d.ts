/** Minimal types for kd-tree-javascript (used only as a benchmark baseline). */
declare module 'kd-tree-javascript' {
  export class kdTree<T> {
    constructor(points: T[], metric: (a: T, b: T) => number, dimensions: string[]);
    /** Up to maxNodes nearest points within maxDistance (in the metric's units), as [point, distance]. */
    nearest(point: T, maxNodes: number, maxDistance?: number): [T, number][];
  }
  const _default: { kdTree: typeof kdTree };
  export default _default;
}
