// Runs a built image the way a Compute Gateway runs it, without a container engine: a buildah working container's
// root filesystem mounted READ-ONLY in a private mount and PID namespace, a host folder mounted read-write at
// /workspace (the only writable place of the image), the process started as the image's user (3333) with the image's
// environment and working directory. The network is the host's, so loopback reaches servers on this machine.
// Besides /workspace, the process sees a private /proc, a /dev of the usual device nodes, an in-memory /dev/shm and an
// /etc/hosts naming loopback (what every container runtime provides; Python's multiprocessing and FLARE need them).
import { spawn, spawnSync } from "node:child_process"
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { buildah, StepFailed } from "./lib.mjs"

const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"]
let containers = 0

/** The image's config: user, environment, working directory, entrypoint and command. */
export const imageConfig = (image) => {
  const inspected = JSON.parse(buildah(["inspect", "--type", "image", image], { capture: true }).stdout)
  return inspected.OCIv1.config ?? {}
}

/**
 * A working container of `image` with its root filesystem mounted; `close()` removes it. `workspace` is the host
 * folder mounted at /workspace, made owned by the image's user.
 */
export const openContainer = (image, workspace) => {
  const config = imageConfig(image)
  const [uid, gid] = String(config.User ?? "").split(":")
  if (!/^\d+$/.test(uid ?? "") || !/^\d+$/.test(gid ?? "")) {
    throw new StepFailed(`${image}: its USER is ${JSON.stringify(config.User)}, expected a numeric uid:gid`)
  }
  const name = `fedkit-check-${process.pid}-${++containers}`
  buildah(["from", "--name", name, "--pull-never", image], { capture: true })
  let rootfs
  try {
    rootfs = buildah(["mount", name], { capture: true }).stdout.trim()
  } catch (error) {
    buildah(["rm", name], { capture: true, allowFailure: true })
    throw error
  }
  mkdirSync(workspace, { recursive: true })
  chownSync(workspace, Number(uid), Number(gid))
  const hosts = `${workspace}.hosts`
  writeFileSync(hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
  const env = Object.fromEntries((config.Env ?? []).map((entry) => {
    const at = entry.indexOf("=")
    return [entry.slice(0, at), entry.slice(at + 1)]
  }))
  return {
    name,
    rootfs,
    uid: Number(uid),
    gid: Number(gid),
    config,
    workspace,
    /**
     * Starts `argv` (default: the image's entrypoint + command) in the container. `env` is added to the image's;
     * `files` maps container paths to host files mounted read-only (their mount points must exist in the image).
     */
    spawn: (argv, options = {}) => {
      const command = argv ?? [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])]
      const binds = Object.entries(options.files ?? {})
      const script = [
        "set -e",
        "R=\"$1\"; W=\"$2\"; shift 2",
        "mount --make-rprivate /",
        "mount --bind \"$R\" \"$R\"",
        "mount --bind \"$W\" \"$R/workspace\"",
        ...binds.map((_, i) =>
          `mount --bind "$FEDKIT_BIND_SRC_${i}" "$R$FEDKIT_BIND_DST_${i}"` +
          ` && mount -o remount,bind,ro "$R$FEDKIT_BIND_DST_${i}"`
        ),
        "mount -t proc proc \"$R/proc\"",
        "mount -t tmpfs -o mode=755,nosuid,size=64k dev \"$R/dev\"",
        ...DEVICES.map((d) => `touch "$R/dev/${d}" && mount --bind /dev/${d} "$R/dev/${d}"`),
        "mkdir \"$R/dev/shm\" && mount -t tmpfs -o mode=1777,nosuid,nodev,size=256m shm \"$R/dev/shm\"",
        "ln -s /proc/self/fd \"$R/dev/fd\"",
        // what every container runtime provides: loopback names (FLARE's simulator listens on "localhost")
        "[ -e \"$R/etc/hosts\" ] || touch \"$R/etc/hosts\"",
        "mount --bind \"$FEDKIT_HOSTS\" \"$R/etc/hosts\"",
        "mount -o remount,bind,ro \"$R\"",
        // unset what only this script needed; the rest is the process's environment
        ...binds.map((_, i) => `unset FEDKIT_BIND_SRC_${i} FEDKIT_BIND_DST_${i}`),
        "unset FEDKIT_HOSTS",
        `exec /usr/sbin/chroot --userspec=${uid}:${gid} --groups=${gid} "$R" /usr/bin/env -C ` +
        `"${config.WorkingDir || "/"}" "$@"`
      ].join("\n")
      const bindEnv = Object.fromEntries(
        binds.flatMap(([dst, src], i) => [[`FEDKIT_BIND_SRC_${i}`, src], [`FEDKIT_BIND_DST_${i}`, dst]])
      )
      return spawn(
        "/usr/bin/unshare",
        ["--mount", "--pid", "--fork", "--kill-child", "/bin/sh", "-c", script, "sh", rootfs, workspace, ...command],
        {
          env: {
            ...env,
            ...options.env,
            ...bindEnv,
            FEDKIT_HOSTS: hosts,
            PATH: env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"
          },
          stdio: options.stdio ?? ["ignore", "pipe", "pipe"]
        }
      )
    },
    close: () => {
      buildah(["umount", name], { capture: true, allowFailure: true })
      buildah(["rm", name], { capture: true, allowFailure: true })
      rmSync(hosts, { force: true })
    }
  }
}

/** Runs `argv` in the container to its end; resolves with its exit code and output. */
export const exec = (container, argv, options = {}) =>
  new Promise((resolve) => {
    const child = container.spawn(argv, options)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      options.onStdout?.(String(chunk))
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
      options.onStderr?.(String(chunk))
    })
    child.on("close", (code, signal) => resolve({ code: code ?? signal, stdout, stderr }))
  })

/** The process the container runs (the child of `unshare`), and its real and effective uid and gid. */
export const processIdentity = (child) => {
  const [pid] = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/)
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const ids = (key) =>
    status.split("\n").find((line) => line.startsWith(`${key}:`)).split(/\s+/).slice(1, 3).map(Number)
  const exe = spawnSync("readlink", [`/proc/${pid}/exe`], { encoding: "utf8" }).stdout.trim()
  return { pid: Number(pid), uid: ids("Uid"), gid: ids("Gid"), exe }
}
