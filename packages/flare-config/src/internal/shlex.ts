// Python's `shlex.quote`, character for character (`re.ASCII` \w): FLARE 2.8 turns its launcher script back into
// argv with `shlex.split`, and quoting the same way Python does is what makes that round trip exact.
const UNSAFE = /[^A-Za-z0-9_@%+=:,./-]/

export const quote = (arg: string): string => {
  if (arg === "") return "''"
  if (!UNSAFE.test(arg)) return arg
  return `'${arg.replaceAll("'", `'"'"'`)}'`
}

export const join = (argv: ReadonlyArray<string>): string => argv.map(quote).join(" ")
