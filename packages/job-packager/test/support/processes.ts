/** Looks for live processes tied to a folder: by command line, working directory or environment (Linux /proc). */
import { readdirSync, readFileSync, readlinkSync } from "node:fs"

export interface Found {
  readonly pid: number
  readonly cmdline: string
}

const read = (file: string) => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return ""
  }
}

const isZombie = (pid: number) =>
  / [ZX] /.test(read(`/proc/${pid}/stat`).slice(read(`/proc/${pid}/stat`).lastIndexOf(")")))

export const processesUsing = (folder: string): Array<Found> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .flatMap((name) => {
      const pid = Number(name)
      const cmdline = read(`/proc/${pid}/cmdline`).replaceAll("\0", " ")
      let cwd = ""
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`)
      } catch {
        // gone, or not ours
      }
      const uses = cmdline.includes(folder) || cwd.startsWith(folder) || read(`/proc/${pid}/environ`).includes(folder)
      return uses && !isZombie(pid) ? [{ pid, cmdline: cmdline.trim() }] : []
    })

const hexToAddress = (hex: string): string => {
  if (hex.length === 8) {
    return [6, 4, 2, 0].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)).join(".")
  }
  if (hex === "00000000000000000000000001000000") return "::1"
  if (hex === "00000000000000000000000000000000") return "::"
  if (hex.startsWith("0000000000000000FFFF0000")) return `::ffff:${hexToAddress(hex.slice(24))}`
  return hex
}

/** The addresses the given processes listen on (TCP, IPv4 and IPv6), as `host:port`. */
export const listeningAddresses = (pids: ReadonlyArray<number>): Array<string> => {
  const inodes = new Set<string>()
  for (const pid of pids) {
    let fds: Array<string> = []
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (match?.[1] !== undefined) inodes.add(match[1])
      } catch {
        // closed meanwhile
      }
    }
  }
  return ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((table) =>
    read(table).split("\n").slice(1).flatMap((row) => {
      const columns = row.trim().split(/\s+/)
      const [local, state, inode] = [columns[1], columns[3], columns[9]]
      if (local === undefined || state !== "0A" || inode === undefined || !inodes.has(inode)) return []
      const [host = "", port = "0"] = local.split(":")
      return [`${hexToAddress(host)}:${Number.parseInt(port, 16)}`]
    })
  )
}
