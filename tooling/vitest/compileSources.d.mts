/** Compiles `packageDir`'s sources (its tsconfig.src.json) into `outDir`, without declarations or source maps. */
export declare const compileSources: (packageDir: string, outDir: string) => void;
