// What a package's README tells a user to type and to run: its install lines and its first example.
import { readFileSync } from "node:fs"

const blocks = (markdown, lang) =>
  [...markdown.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === lang).map((m) => m[2])

/**
 * `{ pnpm, npm }`: the README's `pnpm add …` and `npm install …` lines, verbatim, from its first `sh` block that has
 * both; comments after `#` dropped.
 */
export const installLines = (readmePath) => {
  for (const block of blocks(readFileSync(readmePath, "utf8"), "sh")) {
    const lines = block.split("\n").map((line) => line.replace(/\s+#.*$/, "").trim())
    const pnpm = lines.find((line) => line.startsWith("pnpm add "))
    const npm = lines.find((line) => line.startsWith("npm install "))
    if (pnpm !== undefined && npm !== undefined) return { pnpm, npm }
  }
  throw new Error(`${readmePath}: no sh block with both a \`pnpm add\` and an \`npm install\` line`)
}

/**
 * The README's first `ts` block, as `[{ file, code }]` to write into a project, the last one being the program to
 * run. A block whose first line names its file (`// runtime.ts`) is a module, and the block after it, which uses
 * that module, is the program.
 */
export const firstExample = (readmePath) => {
  const [first, second] = blocks(readFileSync(readmePath, "utf8"), "ts")
  if (first === undefined) throw new Error(`${readmePath}: no ts example`)
  const named = /^\/\/ ([\w.-]+\.ts)\n/.exec(first)
  if (named === null) return [{ file: "example.ts", code: first }]
  if (second === undefined) throw new Error(`${readmePath}: ${named[1]} is not used by a following example`)
  return [{ file: named[1], code: first }, { file: "example.ts", code: second }]
}
