/**
 * The one line that says what is wrong with a command line, for a `ValidationError` of `@effect/cli`.
 *
 * @effect/cli's own messages do not always name the culprit: an unknown flag before the positional arguments makes
 * it blame the argument after it (`download --jsn ds /dest` gives "Received unknown argument: '/dest'"), or a
 * required option (`--bogus` gives "Expected to find option: '--root'"); a bad value does not say for which option.
 * So unknown options are found first, from the command's own usage, and value errors are attributed to the option
 * that was given that value.
 */
import * as Command from "@effect/cli/Command"
import * as CommandDescriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Usage from "@effect/cli/Usage"
import type * as ValidationError from "@effect/cli/ValidationError"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import { stripAnsi } from "./internal/ansi.js"

/** What an option of the usage accepts: nothing (a flag), or a value (with its choices, when it has some). */
interface OptionUsage {
  readonly takesValue: boolean
  readonly choices: ReadonlyArray<string> | undefined
}

// Every command has these (@effect/cli's built-in options).
const builtIns: ReadonlyArray<[string, OptionUsage]> = [
  ["--help", { takesValue: false, choices: undefined }],
  ["-h", { takesValue: false, choices: undefined }],
  ["--version", { takesValue: false, choices: undefined }],
  ["--wizard", { takesValue: false, choices: undefined }],
  ["--completions", { takesValue: true, choices: ["sh", "bash", "fish", "zsh"] }],
  ["--log-level", { takesValue: true, choices: undefined }]
]

const optionsOf = (usage: Usage.Usage, into: Map<string, OptionUsage>): Map<string, OptionUsage> => {
  switch (usage._tag) {
    case "Named": {
      const accepted = Option.getOrUndefined(usage.acceptedValues)
      const choices = accepted !== undefined && accepted.includes(" | ") ? accepted.split(" | ") : undefined
      for (const name of usage.names) {
        if (name.startsWith("-")) into.set(name, { takesValue: accepted !== undefined, choices })
      }
      return into
    }
    case "Optional":
    case "Repeated":
      return optionsOf(usage.usage, into)
    case "Alternation":
    case "Concat":
      return optionsOf(usage.right, optionsOf(usage.left, into))
    default:
      return into
  }
}

const looksLikeOption = (token: string) => /^--?[A-Za-z]/.test(token)

/** An option given on the command line, with the value it was given (if it takes one). */
interface Given {
  readonly name: string
  readonly value: string | undefined
}

/** The command line as the command it selects sees it: its options (known or not) and its positional words. */
interface Reading {
  readonly known: ReadonlyMap<string, OptionUsage>
  readonly given: ReadonlyArray<Given>
  readonly unknown: ReadonlyArray<string>
  readonly words: ReadonlyArray<string>
  readonly subcommands: ReadonlyArray<string>
}

// fedkit's CLIs have one level of subcommands; a deeper one would be read with its parent's options only.
const read = <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>,
  args: ReadonlyArray<string>
): Reading => {
  const known = new Map(builtIns)
  optionsOf(Command.getUsage(command), known)
  const children = HashMap.fromIterable(Command.getSubcommands(command))
  const subcommands = [...HashMap.keys(children)].filter((name) => !HashSet.has(Command.getNames(command), name))
  const given: Array<Given> = []
  const unknown: Array<string> = []
  const words: Array<string> = []
  let descended = false
  for (let i = 0; i < args.length; i++) {
    const token = args[i]!
    if (looksLikeOption(token)) {
      const equals = token.indexOf("=")
      const name = equals === -1 ? token : token.slice(0, equals)
      const usage = known.get(name)
      if (usage === undefined) {
        unknown.push(name)
      } else if (usage.takesValue && equals === -1) {
        given.push({ name, value: args[i + 1] })
        i++
      } else {
        given.push({ name, value: equals === -1 ? undefined : token.slice(equals + 1) })
      }
      continue
    }
    const child = descended ? Option.none() : HashMap.get(children, token)
    if (Option.isSome(child) && subcommands.includes(token)) {
      descended = true
      optionsOf(CommandDescriptor.getUsage(child.value), known)
    } else {
      words.push(token)
    }
  }
  return { known, given, unknown, words, subcommands }
}

/** Edit distance, to suggest the option a typo meant. */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

const suggestion = (name: string, known: ReadonlyMap<string, OptionUsage>): string => {
  const candidates = [...known.keys()].filter((option) => option.startsWith("--") && option !== "--wizard")
    .map((option) => ({ option, distance: distance(name, option) }))
    // One typo in a short name, two in a long one: `--port` is not a typo of `--out`.
    .filter((candidate) => candidate.distance <= (name.length > 8 ? 2 : 1))
    .sort((a, b) => a.distance - b.distance)
  return candidates.length === 0 ? "" : ` (did you mean ${candidates[0]!.option}?)`
}

/** The paragraphs of a help document as plain text. */
export const plainText = (doc: HelpDoc.HelpDoc): ReadonlyArray<string> =>
  stripAnsi(HelpDoc.toAnsiText(doc)).split(/\n\s*\n/).map((part) => part.replace(/\s+/g, " ").trim())
    .filter((part) => part.length > 0)

const quoted = (list: ReadonlyArray<string>) => list.join(", ")

/** One paragraph of @effect/cli's message, said plainly and about the right option. */
const rewrite = (paragraph: string, reading: Reading): string => {
  let match: RegExpMatchArray | null
  if ((match = paragraph.match(/^Missing argument (.+)$/)) !== null) return `missing argument ${match[1]}`
  if ((match = paragraph.match(/^Received unknown argument: '(.*)'$/)) !== null) {
    return `unexpected argument '${match[1]}'`
  }
  if ((match = paragraph.match(/^Expected a value following option: '(.+)'$/)) !== null) {
    return `option ${match[1]} needs a value`
  }
  if ((match = paragraph.match(/^More than one reference to option '(.+)' detected$/)) !== null) {
    return `option ${match[1]} is given more than once`
  }
  if (/^Invalid subcommand for /.test(paragraph)) {
    // @effect/cli lists them in the order they were declared.
    const listed = [...paragraph.matchAll(/'([^']+)'/g)].map((found) => found[1]!)
    const word = reading.words[0]
    return `${word === undefined ? "missing command" : `unknown command '${word}'`}; use one of ${
      quoted(listed.length > 0 ? listed : reading.subcommands)
    }`
  }
  if (/^Expected one of the following cases: /.test(paragraph)) {
    const culprit = reading.given.find((option) => {
      const choices = reading.known.get(option.name)?.choices
      return choices !== undefined && option.value !== undefined && !choices.includes(option.value)
    })
    if (culprit !== undefined) {
      return `${culprit.name}: '${culprit.value}' is not one of ${quoted(reading.known.get(culprit.name)!.choices!)}`
    }
  }
  const text = paragraph.replace(/ is not a integer$/, " is not an integer")
  // A value's error quotes the value: name the option it was given to (arguments are named by their value).
  const culprit = reading.given.find((option) =>
    option.value !== undefined && option.value.length > 0 && text.includes(`'${option.value}'`)
  )
  return culprit === undefined ? lowerFirst(text) : `${culprit.name}: ${lowerFirst(text)}`
}

const lowerFirst = (text: string) => /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text

/**
 * What is wrong with `args` (the words after the program's name) for `command`, as one line, given the
 * `ValidationError` that @effect/cli failed with.
 */
export const describe = <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>,
  args: ReadonlyArray<string>,
  error: ValidationError.ValidationError
): string => {
  const reading = read(command, args)
  const unknown = reading.unknown[0]
  if (unknown !== undefined) return `unknown option ${unknown}${suggestion(unknown, reading.known)}`
  const paragraphs = plainText(error.error)
  const missing = paragraphs.flatMap((paragraph) => paragraph.match(/^Expected to find option: '(.+)'$/)?.[1] ?? [])
  if (missing.length > 0) {
    return `missing required option${missing.length > 1 ? "s" : ""} ${quoted(missing)}`
  }
  const lines = paragraphs.map((paragraph) => rewrite(paragraph, reading))
  return lines.length === 0 ? "invalid command line" : lines.join("; ")
}
