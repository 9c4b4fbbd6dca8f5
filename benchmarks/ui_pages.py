"""The Dagster UI at universe scale, timed in a real browser (headless Debian Chromium).

Against the instance ``benchmarks/ingest_scale.py --keep`` leaves (it prints its Dagster home
and store URL), from the repository root, in one command:

    PYTHONPATH=. python benchmarks/ui_pages.py --dagster-home DIR --store-url URL

Against an instance of ``benchmarks/ui_instance.py`` (a partition design's bookkeeping only):

    PYTHONPATH=. python benchmarks/ui_pages.py --dagster-home /tmp/ui-year \\
        --workspace /tmp/ui-year/workspace.yaml

Starts ``dagster-webserver`` on a free port (``--workspace``, default the project's
``workspace.yaml``) over the instance in ``--dagster-home`` (``RESEARCH_LAB_STORE_URL`` set to
``--store-url`` when given), waits until the code location is loaded, then loads each page in
headless Chromium: once cold (a fresh browser context, the page's first load since the
webserver started) and ``--warm`` times more in the same context (the median is reported). A
page has answered when its content shows the instance's data, not a spinner:

- partitions: ``/assets/market_data?view=partitions``: the "Materialized (N)" and "Missing (N)"
  counts and both dimensions' lists (the date list's keys);
- checks: ``?view=checks``: every check's name, a check status, the selected check's latest
  evaluation;
- events: ``?view=events``: the newest materialization's "Partition ... materialized" and its
  metadata;
- overview: ``/assets/market_data`` (its default tab): the latest materialization's partition
  key and the latest check results;
- catalog: ``/assets``: the ``market_data`` row with a partition count;

and, for every page, no spinner and no "Loading", "Fetching" or "Refreshing data" text left.
A page that does not answer within ``--timeout`` counts as ``inf`` (FAIL).

Prints seconds per page (cold and warm median), PASS/FAIL of each against ``--goal`` (2 s),
the three slowest GraphQL requests of the cold load (request to response, as the browser saw
them) and ``uptime``'s load average; then replays the partitions page's own GraphQL query
(``PartitionHealthQuery``) and its slowest one with ``urllib`` (1 + ``--warm`` times) to separate
the server's time from the browser's. Exit code 1 when a page fails the goal. Screenshots of
each load at the moment it answered, and the webserver's log, go to ``--shots`` (default: a
new temporary folder, printed), never into the repository.

``--backfill`` then launches a backfill of every ``market_data`` partition from the webserver,
starts ``dagster-daemon`` and times until the daemon has submitted the first run, and follows
the backfill until it ended or ``--backfill-timeout``. That executes the asset: use it on a
throwaway ``ui_instance.py`` instance (its ``market_data`` ingests nothing), not on an
instance whose asset would ingest everything.
Needs ``/usr/bin/chromium`` and the playwright client (``scripts/install-browser``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ASSET = "market_data"
CHECK_NAMES = ("schema_ohlc", "missing_sessions", "stale_prices", "extreme_moves")
READY = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_graphql(base: str, body: bytes, timeout: float = 120) -> tuple[float, dict]:
    """(seconds, payload) of one POST to ``/graphql``."""
    req = urllib.request.Request(f"{base}/graphql", data=body,
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        payload = json.loads(resp.read())
    return time.perf_counter() - t0, payload


def location_loaded(base: str) -> bool:
    """True once the workspace's code location is loaded; raises when it failed to load."""
    try:
        _, payload = post_graphql(base, json.dumps({"query": READY}).encode(), timeout=10)
    except OSError:
        return False
    entries = (payload.get("data") or {}).get("workspaceOrError", {}).get("locationEntries", [])
    for e in entries:
        err = e["locationOrLoadError"] or {}
        if err.get("__typename") == "PythonError":
            raise RuntimeError(f"code location {e['name']} failed to load: {err['message']}")
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


def dagster_env(home: Path, store_url: str | None) -> dict[str, str]:
    """The environment of the webserver and the daemon: the instance, the repository importable,
    the store when given."""
    env = {**os.environ, "DAGSTER_HOME": str(home.resolve()), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    if store_url:
        env["RESEARCH_LAB_STORE_URL"] = store_url
    return env


class Webserver:
    """``dagster-webserver`` over ``home`` in its own process group; a context manager."""

    def __init__(self, home: Path, workspace: Path, store_url: str | None, log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dagster_env(home, store_url)
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(workspace),
                 "-h", "127.0.0.1", "-p", str(self.port)],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def wait(self, timeout: float = 300) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster-webserver exited with {self.proc.returncode}:\n"
                                   + self.log.read_text()[-3000:])
            if location_loaded(self.base):
                return time.monotonic() - t0
            time.sleep(0.5)
        raise RuntimeError(f"dagster-webserver not serving within {timeout:.0f} s:\n"
                           + self.log.read_text()[-3000:])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@dataclass
class Load:
    seconds: float
    graphql: list[tuple[str, float, bytes]] = field(default_factory=list)  # (operation, s, body)

    def slowest(self, named: str = "") -> tuple[str, float, bytes] | None:
        """The slowest GraphQL request (of those whose operation name contains ``named``)."""
        return max((g for g in self.graphql if named in g[0]), key=lambda g: g[1], default=None)


KEY = re.compile(r"^[^|\s]+\|[^|\s]+$")  # a multi-partition key, e.g. 2024-01-02|ACME


def _no_spinner(page) -> None:
    """Wait until no loading indicator is left on the page."""
    page.wait_for_function(
        """() => !document.querySelector('[role="progressbar"], .bp5-spinner, .bp4-spinner')
              && !/Loading|Fetching|fetching statuses|Refreshing data/
                   .test(document.body.innerText)""")


def _visible(page, *locators) -> None:
    from playwright.sync_api import expect

    for locator in locators:
        expect(locator.first).to_be_visible()
    _no_spinner(page)


def wait_partitions(page) -> None:
    """The status counts and both dimensions' lists with their status dots."""
    _visible(page, page.get_by_text(re.compile(r"^Materialized \([\d,]+\)$")),
             page.get_by_text(re.compile(r"^Missing \([\d,]+\)$")),
             page.get_by_placeholder(re.compile("^Filter by symbol")),
             page.get_by_text(re.compile(r"^\d{4}(-\d\d-\d\d)?$")))


def wait_checks(page) -> None:
    """Every check's name with its status, and the first check's latest execution."""
    _visible(page, *(page.get_by_text(n, exact=True) for n in CHECK_NAMES),
             page.get_by_text(re.compile("^(Succeeded|Failed|Passed)$")),
             page.get_by_text("Evaluation result", exact=True))


def wait_events(page) -> None:
    """The newest materialization's details ("Partition ... materialized", its metadata)."""
    _visible(page, page.get_by_text(re.compile(r"^Partition \S+ materialized( in run \S+)?$")),
             page.get_by_text("Metadata", exact=True))


def wait_overview(page) -> None:
    """The latest materialization's partition and the latest check results."""
    _visible(page, page.get_by_text("Latest materialization", exact=True), page.get_by_text(KEY),
             page.get_by_text("Latest check results", exact=True))


def wait_catalog(page) -> None:
    """The ``market_data`` row with its partition count."""
    _visible(page, page.get_by_text(ASSET, exact=True),
             page.get_by_text(re.compile(r"^[\d,]+ partitions$")))


PAGES = {  # name: (path, wait until answered)
    "partitions": (f"/assets/{ASSET}?view=partitions", wait_partitions),
    "checks": (f"/assets/{ASSET}?view=checks", wait_checks),
    "events": (f"/assets/{ASSET}?view=events", wait_events),
    "overview": (f"/assets/{ASSET}", wait_overview),
    "catalog": ("/assets", wait_catalog),
}


def timed_load(page, url: str, wait, shot: Path, timeout_ms: float) -> Load:
    """Navigate to ``url`` and wait until ``wait`` says it answered; records its GraphQL."""
    calls: list[tuple[str, float, bytes]] = []

    def finished(request) -> None:
        if "/graphql" in request.url and request.method == "POST":
            body = request.post_data_buffer or b""
            try:
                op = json.loads(body).get("operationName") or "?"
            except ValueError:
                op = "?"
            calls.append((op, request.timing["responseEnd"] / 1000, body))

    page.on("requestfinished", finished)
    page.set_default_timeout(timeout_ms)
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        try:
            wait(page)
            seconds = time.perf_counter() - t0
        except AssertionError as exc:  # playwright's expect: not answered within the timeout
            seconds = float("inf")
            print(f"  {url}: not answered within {timeout_ms / 1000:.0f} s: "
                  f"{str(exc).splitlines()[0]}", flush=True)
        except Exception as exc:  # noqa: BLE001 - playwright's TimeoutError of wait_for_function
            if type(exc).__name__ != "TimeoutError":
                raise
            seconds = float("inf")
            print(f"  {url}: a spinner still shown after {timeout_ms / 1000:.0f} s", flush=True)
        page.screenshot(path=str(shot))
    finally:
        page.remove_listener("requestfinished", finished)
    return Load(seconds, calls)


def measure(base: str, names: list[str], warm: int, shots: Path, timeout_s: float):
    """{page: (cold Load, [warm Loads])} in a fresh browser context per page."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=timeout_s * 1000)
    results = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name in names:
                path, wait = PAGES[name]
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                page = context.new_page()
                loads = [timed_load(page, base + path, wait, shots / f"{name}-{i}.png",
                                    timeout_s * 1000) for i in range(warm + 1)]
                context.close()
                results[name] = (loads[0], loads[1:])
                print_page(name, loads[0], loads[1:])
        finally:
            browser.close()
    return results


def print_page(name: str, cold: Load, warm: list[Load]) -> None:
    med = statistics.median(w.seconds for w in warm) if warm else cold.seconds
    top = sorted(cold.graphql, key=lambda g: -g[1])[:3]
    gq = ("slowest GraphQL (cold): " + ", ".join(f"{op} {s:.2f} s" for op, s, _ in top)
          if top else "no GraphQL")
    print(f"  {name:10s} cold {cold.seconds:6.2f} s  warm median {med:6.2f} s "
          f"({', '.join(f'{w.seconds:.2f}' for w in warm)})  {gq}; {load()}", flush=True)


LAUNCH_BACKFILL = """mutation($p: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  ... on UnauthorizedError { message } } }"""
BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status numPartitions error { message }
    runs(limit: 10) { runId status } } ... on PythonError { message } }
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
    ... on Runs { count } } }"""


def graphql_data(base: str, query: str, variables: dict,
                 timeout: float = 600) -> tuple[float, dict]:
    seconds, payload = post_graphql(
        base, json.dumps({"query": query, "variables": variables}).encode(), timeout)
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors']}")
    return seconds, payload["data"]


def backfill(base: str, home: Path, workspace: Path, store_url: str | None, logdir: Path,
             timeout: float) -> None:
    """Launch a backfill of every ``market_data`` partition from the webserver, start
    ``dagster-daemon``, and time until the daemon has submitted the backfill's run(s) and they
    finished. It executes the code location's ``market_data``: against a real instance that
    ingests every partition; the throwaway location of ``ui_instance.py`` ingests nothing."""
    seconds, data = graphql_data(base, LAUNCH_BACKFILL, {"p": {
        "assetSelection": [{"path": [ASSET]}], "allPartitions": True, "title": "ui_pages"}})
    result = data["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        print(f"  backfill: launch refused in {seconds:.1f} s: {result}", flush=True)
        return
    bid = result["backfillId"]
    _, data = graphql_data(base, BACKFILL, {"id": bid})
    n = data["partitionBackfillOrError"].get("numPartitions")
    count = "?" if n is None else format(n, ",")
    print(f"  backfill {bid} of all {count} partitions requested from the webserver in "
          f"{seconds:.1f} s; {load()}", flush=True)
    daemon_log = logdir / "daemon.log"
    env = dagster_env(home, store_url)
    t0 = time.monotonic()
    with open(daemon_log, "wb") as out:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    first_run = None
    try:
        while time.monotonic() - t0 < timeout:
            time.sleep(2)
            _, data = graphql_data(base, BACKFILL, {"id": bid})
            b = data["partitionBackfillOrError"]
            runs, count = b.get("runs") or [], data["runsOrError"].get("count")
            if runs and first_run is None:
                first_run = time.monotonic() - t0
                print(f"  backfill: first run submitted by the daemon after {first_run:.1f} s "
                      f"({count} run(s) so far); {load()}", flush=True)
            if b.get("status") not in (None, "REQUESTED"):
                error = f"; error {b['error']['message'][:300]}" if b.get("error") else ""
                print(f"  backfill: {b['status']} after {time.monotonic() - t0:.1f} s, {count} "
                      f"run(s), the latest {[r['status'] for r in runs]}{error}; {load()}",
                      flush=True)
                return
        print(f"  backfill: still {b.get('status')} after {timeout:.0f} s, {count} run(s), the "
              f"latest {[r['status'] for r in runs]} (daemon log: {daemon_log}); {load()}",
              flush=True)
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dagster-home", required=True, type=Path,
                        help="the instance's DAGSTER_HOME (its dagster.yaml)")
    parser.add_argument("--store-url", help="RESEARCH_LAB_STORE_URL for the code location")
    parser.add_argument("--workspace", type=Path, default=ROOT / "workspace.yaml")
    parser.add_argument("--pages", default=",".join(PAGES),
                        help=f"comma-separated, of: {', '.join(PAGES)}")
    parser.add_argument("--warm", type=int, default=3, help="warm loads per page (median)")
    parser.add_argument("--goal", type=float, default=2.0, help="seconds a page may take")
    parser.add_argument("--timeout", type=float, default=180, help="seconds before a page fails")
    parser.add_argument("--shots", type=Path, help="screenshot folder (default: a temp folder)")
    parser.add_argument("--backfill", action="store_true",
                        help="then backfill EVERY market_data partition through the daemon "
                        "(runs the asset: only for a throwaway instance of ui_instance.py)")
    parser.add_argument("--backfill-timeout", type=float, default=300,
                        help="seconds to follow the backfill")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.pages.split(",") if n.strip()]
    bad = [n for n in names if n not in PAGES]
    if bad:
        print(f"--pages: unknown page {bad[0]!r} (known: {', '.join(PAGES)})", file=sys.stderr)
        return 2
    if not (args.dagster_home / "dagster.yaml").is_file():
        print(f"--dagster-home: no dagster.yaml in {args.dagster_home}", file=sys.stderr)
        return 2
    if not args.workspace.is_file():
        print(f"--workspace: {args.workspace} not found", file=sys.stderr)
        return 2
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: run scripts/install-browser", file=sys.stderr)
        return 2
    shots = args.shots or Path(tempfile.mkdtemp(prefix="ui_pages_"))
    shots.mkdir(parents=True, exist_ok=True)
    log = shots / "webserver.log"
    print(f"Dagster UI over {args.dagster_home} ({args.workspace}); screenshots and the "
          f"webserver log in {shots}; {load()}", flush=True)
    with Webserver(args.dagster_home, args.workspace, args.store_url, log) as server:
        started = server.wait()
        print(f"  webserver serving the code location after {started:.1f} s; {load()}",
              flush=True)
        results = measure(server.base, names, args.warm, shots, args.timeout)
        replays = []
        if "partitions" in results:  # its own query (partition statuses) and its slowest
            cold = results["partitions"][0]
            for slow in {cold.slowest("Partition"), cold.slowest()} - {None}:
                times = [post_graphql(server.base, slow[2], timeout=args.timeout)[0]
                         for _ in range(1 + args.warm)]
                replays.append((slow[0], times))
        if args.backfill:
            backfill(server.base, args.dagster_home, args.workspace, args.store_url, shots,
                     args.backfill_timeout)
    print(f"goal: each page answered in < {args.goal:g} s (cold: first load; warm: median)")
    failed = 0
    for name, (cold, warm) in results.items():
        med = statistics.median(w.seconds for w in warm) if warm else cold.seconds
        verdicts = ["PASS" if t < args.goal else "FAIL" for t in (cold.seconds, med)]
        failed += "FAIL" in verdicts
        print(f"  {name:10s} cold {cold.seconds:6.2f} s {verdicts[0]}, "
              f"warm {med:6.2f} s {verdicts[1]}")
    for op, times in replays:
        print(f"  partitions page's GraphQL {op} replayed with urllib: first {times[0]:.2f} s,"
              f" then median {statistics.median(times[1:] or times):.2f} s")
    print(f"  {load()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
