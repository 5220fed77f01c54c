/**
 * The two small Python programs this package runs with FLARE's interpreter.
 */

/**
 * Runs `nvflare simulator` with a separate environment for each simulated site.
 *
 * FLARE has no per-site environment in the simulator: each site's client worker is started by
 * `SimulatorClientRunner.do_one_task` with a copy of the simulator's own environment, and trainers inherit the
 * worker's. This launcher wraps `subprocess.Popen` in the simulator process so that when FLARE starts a worker
 * (`python -m nvflare.private.fed.app.simulator.simulator_worker ... --client <site>`), that worker's environment
 * gets the site's variables. The job's files are not touched; each site process sees exactly what a real gateway
 * would put in its environment. The variables come from a 0600 JSON file (path in `FEDKIT_SITE_ENV_FILE`) outside
 * the job and workspace, which the caller deletes after the run. The wrapper is installed at import time, so it is
 * also in place in multiprocessing children started with the spawn or forkserver methods (they re-import this file).
 */
export const SIMULATOR_LAUNCHER = `import json
import os
import subprocess
import sys

_ENV_FILE = os.environ.get("FEDKIT_SITE_ENV_FILE")
_SITE_ENV = {}
if _ENV_FILE:
    with open(_ENV_FILE, encoding="utf-8") as _file:
        _SITE_ENV = json.load(_file)
_WORKER = "nvflare.private.fed.app.simulator.simulator_worker"
_Popen = subprocess.Popen


def _site_of(args):
    if isinstance(args, (list, tuple)) and _WORKER in args and "--client" in args:
        index = list(args).index("--client")
        if index + 1 < len(args):
            return args[index + 1]
    return None


class _SitePopen(_Popen):
    def __init__(self, args, *rest, **kwargs):
        site = _site_of(args)
        if site is not None:
            env = dict(kwargs.get("env") if kwargs.get("env") is not None else os.environ)
            env.pop("FEDKIT_SITE_ENV_FILE", None)
            variables = _SITE_ENV.get(site, {})
            env.update(variables)
            kwargs["env"] = env
            sys.stderr.write("[fedkit] site %s starts with %d site variable(s)\\n" % (site, len(variables)))
            sys.stderr.flush()
        super().__init__(args, *rest, **kwargs)


subprocess.Popen = _SitePopen

if __name__ == "__main__":
    from nvflare.cli import main

    sys.argv = ["nvflare"] + sys.argv[1:]
    sys.exit(main())
`

/**
 * Talks to a running FLARE server through the FLARE API (`nvflare.fuel.flare_api`) with an admin startup kit:
 * waits for the expected sites, submits the job folder, follows its status, downloads its result. It prints one
 * JSON event per line on stdout and exits 0 only when the job finished (whatever its status). When it is stopped
 * (SIGTERM, SIGINT) or times out after submitting, it aborts the job on the server before exiting, then still
 * downloads what the job left (within `stop_budget` seconds).
 *
 * While the job runs it passes on the sites' structured logs as the server holds them (`get_job_logs`: the sites of
 * a job with FLARE's `JobLogStreamer` stream them to the server, which has a site's log once that site's job process
 * has ended), as `site_log` events of new complete lines; with the result it writes each site's `log.txt` and
 * `log.json` to `<result>/sites/<site>/`. A site's stream can end after the job does (a failing site's job process
 * ends before the server aborts the job, but its log may still be on its way), so when `site_logs` is true (the job
 * streams `log.json`) and the job ran, the driver waits, after the job has finished and before it downloads, for the
 * log of every site of the job, at most `site_log_grace` seconds (FLARE itself gives a site's stream 60 seconds to
 * drain): a site's reason for failing is then in the result, whichever came first.
 *
 * Argument: a JSON object `{username, startup_kit, study, job_folder, download_dir, timeout, expect_clients,
 * clients_timeout, stop_budget, site_logs, site_log_grace}` (timeouts in seconds; the sites must connect within
 * `clients_timeout`).
 */
export const SESSION_DRIVER = `import json
import os
import re
import signal
import sys
import time

SITE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def emit(event, **fields):
    try:
        sys.stdout.write(json.dumps(dict(event=event, **fields), default=str) + "\\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        # Nobody reads any more (the caller stopped this driver): the job must still be aborted and kept.
        sys.stdout = open(os.devnull, "w")


class Stopped(BaseException):
    pass


def on_signal(signum, frame):
    raise Stopped()


def connect(api, spec, deadline):
    last = None
    while True:
        try:
            return api.new_secure_session(
                spec["username"],
                spec["startup_kit"],
                timeout=min(10.0, max(1.0, deadline - time.time())),
                study=spec.get("study") or "default",
            )
        except Exception as error:
            last = error
        if time.time() >= deadline:
            raise TimeoutError("could not log in as %s: %s" % (spec["username"], last))
        time.sleep(1.0)


def site_logs(session, job_id, name):
    """Site name -> text of one log file of each site, as the server holds it ({} when it has none)."""
    try:
        reply = session.get_job_logs(job_id, "all", log_file_name=name)
    except Exception:
        return {}
    logs = reply.get("logs") if isinstance(reply, dict) else None
    return {
        site: text
        for site, text in (logs or {}).items()
        if site != "server" and isinstance(text, str) and SITE_NAME.match(site)
    }


def pass_on_site_logs(session, job_id, offsets):
    """Emits the new lines of each site's log; returns the sites whose log the server has."""
    logs = site_logs(session, job_id, "log.json")
    for site, text in sorted(logs.items()):
        complete = text[: text.rfind("\\n") + 1].splitlines()
        fresh = complete[offsets.get(site, 0) :]
        if fresh:
            offsets[site] = len(complete)
            emit("site_log", site=site, lines=fresh)
    return set(logs)


def job_sites(meta, spec):
    """The sites the job ran on (FLARE's job_clients), else the sites waited for."""
    clients = meta.get("job_clients") if isinstance(meta, dict) else None
    names = [client.get("name") for client in clients or [] if isinstance(client, dict)]
    found = sorted(name for name in names if isinstance(name, str) and SITE_NAME.match(name))
    return found or list(spec.get("expect_clients") or [])


def await_site_logs(session, job_id, sites, offsets, grace):
    """Waits until the server has the log of each of the sites, at most grace seconds; returns the missing ones."""
    deadline = time.time() + grace
    while True:
        missing = [site for site in sites if site not in pass_on_site_logs(session, job_id, offsets)]
        if not missing or time.time() >= deadline:
            return missing
        time.sleep(0.5)


def keep_site_logs(session, job_id, result):
    kept = {}
    for name in ("log.txt", "log.json"):
        for site, text in site_logs(session, job_id, name).items():
            folder = os.path.join(result, "sites", site)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, name), "w", encoding="utf-8") as file:
                file.write(text)
            kept.setdefault(site, os.path.join(folder, name))
    return kept


def download(session, job_id, spec):
    path = session.download_job_result(job_id, spec["download_dir"])
    return path, keep_site_logs(session, job_id, path)


def main():
    spec = json.loads(sys.argv[1])
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    deadline = time.time() + spec["timeout"]
    try:
        from nvflare.fuel.flare_api import flare_api as api

        session = connect(api, spec, deadline)
    except Stopped:
        emit("error", step="connect", kind="stopped", detail="stopped before connecting")
        return 130
    except Exception as error:
        emit("error", step="connect", kind=type(error).__name__, detail=str(error))
        return 2
    emit("connected", username=spec["username"])
    job_id = None
    finished = False
    downloaded = False
    step = "clients"
    try:
        expected = spec.get("expect_clients") or []
        clients_deadline = min(deadline, time.time() + spec.get("clients_timeout", spec["timeout"]))
        while expected:
            connected = sorted(client.name for client in session.get_system_info().client_info)
            missing = [name for name in expected if name not in connected]
            if not missing:
                emit("clients", connected=connected)
                break
            if time.time() >= clients_deadline:
                emit("error", step=step, kind="timeout", detail="sites not connected: " + ", ".join(missing))
                return 3
            time.sleep(0.5)
        step = "submit"
        job_id = session.submit_job(spec["job_folder"])
        emit("submitted", job_id=job_id)
        step = "wait"
        status = None
        meta = {}
        offsets = {}
        while True:
            meta = session.get_job_meta(job_id)
            pass_on_site_logs(session, job_id, offsets)
            if meta.get("status") != status:
                status = meta.get("status")
                emit("status", job_id=job_id, status=status)
            if str(status).startswith("FINISHED"):
                finished = True
                break
            if time.time() >= deadline:
                emit("error", step=step, kind="timeout", job_id=job_id, detail="job %s is still %s" % (job_id, status))
                return 3
            time.sleep(1.0)
        if spec.get("site_logs") and status != "FINISHED:FAILED_TO_RUN":
            step = "site logs"
            missing = await_site_logs(session, job_id, job_sites(meta, spec), offsets, spec.get("site_log_grace", 60))
            if missing:
                emit("site_logs_missing", job_id=job_id, sites=missing)
        step = "download"
        path, sites = download(session, job_id, spec)
        downloaded = True
        emit("finished", job_id=job_id, status=status, download=path, meta=meta, sites=sites)
        return 0
    except Stopped:
        emit("error", step=step, kind="stopped", job_id=job_id, detail="stopped")
        return 130
    except Exception as error:
        emit("error", step=step, kind=type(error).__name__, job_id=job_id, detail=str(error))
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # Stopped or failed after submitting: the job is aborted if it still runs, and what it left is kept.
        if job_id is not None and not downloaded:
            try:
                if not finished:
                    session.abort_job(job_id)
                    emit("aborted", job_id=job_id)
                    stop_deadline = time.time() + spec.get("stop_budget", 15)
                    while not str(session.get_job_status(job_id)).startswith("FINISHED"):
                        if time.time() >= stop_deadline:
                            raise TimeoutError("the aborted job did not finish within the stop budget")
                        time.sleep(0.5)
                path, sites = download(session, job_id, spec)
                emit("kept", job_id=job_id, download=path, sites=sites)
            except Exception as error:
                emit("keep_failed", job_id=job_id, detail=str(error))
        session.close()


sys.exit(main())
`
