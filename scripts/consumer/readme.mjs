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
 * run. The program may import modules shown further down (`import runtime from "./runtime.js"`): each is the `ts`
 * block whose first line names its file (`// runtime.ts`).
 */
export const firstExample = (readmePath) => {
  const examples = blocks(readFileSync(readmePath, "utf8"), "ts")
  const [program] = examples
  if (program === undefined) throw new Error(`${readmePath}: no ts example`)
  const modules = new Map(examples.flatMap((code) => {
    const named = /^\/\/ ([\w.-]+\.ts)\n/.exec(code)
    return named === null ? [] : [[named[1], code]]
  }))
  const imported = [...program.matchAll(/from "\.\/([\w.-]+)\.js"/g)].map((match) => `${match[1]}.ts`)
  return [
    ...imported.map((file) => {
      const code = modules.get(file)
      if (code === undefined) {
        throw new Error(`${readmePath}: the first example imports ${file}, but no ts block starts with // ${file}`)
      }
      return { file, code }
    }),
    { file: "example.ts", code: program }
  ]
}
