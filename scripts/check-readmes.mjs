#!/usr/bin/env node
// Every README in one outline (CONTRIBUTING.md, "The layout"): a title; what it is in at most two sentences; a tested
// example of at most 10 lines before the first section; then the sections Install, CLI, Library, Errors, Limits and
// API overview, in that order (others may come between or after). The root README's example is its quick start: the
// two commands. "Tested" means run by a test: the package's test/Readme.test.ts, which holds the example to a file in
// test/fixtures/ and runs it, and for a published package also the consumer test (scripts/consumer/readme.mjs).
// Run by scripts/test.mjs; alone: `node scripts/check-readmes.mjs`. Prints one line per problem; exit 1 if any.
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const outline = ["Install", "CLI", "Library", "Errors", "Limits", "API overview"]

/** The opening's sentences: inline code, link targets and common abbreviations do not end one. */
const sentences = (text) =>
  text.replace(/`[^`]*`/g, "code").replace(/\]\([^)]*\)/g, "]").replace(/\b(e\.g|i\.e|etc|vs)\./g, "$1")
    .split(/[.!?](?=\s+[A-Z(*[]|\s*$)/).filter((sentence) => sentence.trim().length > 0).length

const problemsOf = (dir) => {
  const file = join(dir, "README.md")
  const markdown = readFileSync(file, "utf8")
  const problems = []
  if (!markdown.startsWith("# ")) problems.push("does not start with a `# ` title")
  const lines = markdown.split("\n")
  const sectionLines = lines.flatMap((line, index) => line.startsWith("## ") ? [index] : [])
  const intro = lines.slice(1, sectionLines[0] ?? lines.length).join("\n")
  const fence = intro.indexOf("\n```")
  const opening = (fence === -1 ? intro : intro.slice(0, fence)).split("\n- ")[0]
  const count = sentences(opening.trim())
  if (count === 0 || count > 2) problems.push(`opens with ${count} sentences, not one or two saying what it is`)

  const isRoot = dir === root
  if (isRoot) {
    const start = markdown.indexOf("## Quick start\n")
    const block = start === -1 ? undefined : /```sh\n([\s\S]*?)```/.exec(markdown.slice(start))?.[1]
    const commands = block?.split("\n").filter((line) => line.trim().length > 0 && !line.startsWith("#"))
    if (commands?.length !== 2) problems.push("its Quick start is not one sh block of exactly two commands")
  } else {
    const example = fence === -1 ? undefined : /^```ts\n([\s\S]*?)^```$/m.exec(intro.slice(fence + 1))?.[1]
    if (example === undefined) {
      problems.push("no ts example before its first section")
    } else if (example.trimEnd().split("\n").length > 10) {
      problems.push(`its opening example has ${example.trimEnd().split("\n").length} lines, more than 10`)
    }
    const readmeTest = join(dir, "test", "Readme.test.ts")
    if (!existsSync(readmeTest) || !readFileSync(readmeTest, "utf8").includes("readme.example")) {
      problems.push("no test/Readme.test.ts that holds the opening example to test/fixtures/readme.example.ts")
    } else if (!existsSync(join(dir, "test", "fixtures", "readme.example.ts"))) {
      problems.push("no test/fixtures/readme.example.ts, the opening example as a file the tests run")
    }
  }

  const sections = sectionLines.map((index) => lines[index].slice(3).trim())
  let at = 0
  for (const name of outline) {
    const found = sections.indexOf(name, at)
    if (found === -1) {
      problems.push(`no section "${name}" (the sections, in order: ${outline.join(", ")})`)
      continue
    }
    at = found + 1
  }
  return problems.map((problem) => `${relative(root, file) || "README.md"}: ${problem}`)
}

const dirs = [
  root,
  ...["packages", "apps", "tooling"].flatMap((group) =>
    readdirSync(join(root, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, "README.md")))
      .map((entry) => join(root, group, entry.name))
  )
]
const problems = dirs.flatMap(problemsOf)
for (const problem of problems) process.stderr.write(`FAILED: ${problem}\n`)
process.stdout.write(
  `READMEs: ${dirs.length} checked, ${problems.length} ${problems.length === 1 ? "problem" : "problems"}\n`
)
process.exit(problems.length === 0 ? 0 : 1)
