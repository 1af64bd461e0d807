/**
 * The part of the WebAssembly JavaScript API that refresh-kernel.ts uses. Node has the API
 * built in, but TypeScript declares it only in its DOM libraries, which this package does not
 * compile against. Not emitted: no public declaration mentions these types.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    /** Sizes in 64 KiB pages. */
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Global {
    readonly value: unknown;
  }
}
