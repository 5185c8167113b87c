"""``mta-harness``: certify an MTA, clean up after killed runs, list what is available.

Exit status: 0 PASS, 1 FAIL (the MTA broke a property), 2 bad input, 3 ERROR (the harness
could not test; never reported as a pass).
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from harness import __version__, interrupts
from harness.backends import BACKENDS
from harness.errors import HarnessError, UsageError
from harness.faults import fault_kinds
from harness.mta import ADAPTERS, get_adapter, read_fragment
from harness.options import DEFAULT_MTA, add_arguments, pytest_args, run_bounds
from harness.profiles import PROFILES
from harness.reaper import reap_orphans
from harness.record import Canary, Run, load_run
from harness.report.provenance import Provenance, files_digest, project_name, text_digest
from harness.results import (
    ERROR,
    EXIT_CODES,
    EXIT_INTERRUPTED,
    FAIL,
    PASS,
    agree_with_pytest,
    describe_claim,
    pass_sentence,
    write_json_atomic,
)
from harness.runtime import new_run_id
from harness.topology import MAX_SITES, remote_sites

#: The canary every certification plays: the known-bad seed model on the seed's outage.
CANARY_MTA = "seedmta-sync"
CANARY_SCENARIO = "q193760.toml"
#: Where ``kill -USR1`` stack dumps go (kept open for the life of the process).
_STACK_DUMPS: list[TextIO] = []
EXIT_USAGE = 2
#: The shipped certification suites, beside the harness package in a source checkout.
SUITES = Path(__file__).resolve().parent.parent / "suites"
#: What ``certify --faults`` runs of them (strict: every suite, the regression scenarios
#: among them; a layer's: its drawn faults alone, so its counterexamples name that layer).
FAULT_SUITES = {
    "certification": ("test_head_of_line.py", "test_scenarios.py"),
    "strict": (".",),
    "tls": ("layers/test_tls.py",),
    "dns": ("layers/test_dns.py",),
}


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mta-harness",
        description="Fault-injection certification for mail transfer agents: one dead link "
        "must never stall delivery to healthy sites, and no mail may be lost.",
    )
    parser.add_argument("--version", action="version", version=f"mta-harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    certify_cmd = commands.add_parser("certify", help="run the certification suites against an MTA")
    add_arguments(certify_cmd)
    certify_cmd.add_argument(
        "--profile",
        default="ci",
        choices=sorted(PROFILES),
        help="ci: small and quick (default); thorough: 10x the examples",
    )
    certify_cmd.add_argument(
        "--seed", type=int, default=None, help="Hypothesis seed, to repeat a run"
    )
    certify_cmd.add_argument(
        "-n",
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="divide the search among N processes here, each with a world of its own "
        "(pytest-xdist); one run record and certificate with every worker's examples",
    )
    certify_cmd.add_argument(
        "--faults",
        choices=tuple(FAULT_SUITES),
        default="certification",
        help="certification: every layer's faults the run can make (default); strict: also a "
        "thin link and sites that stall mid-data, drop the connection after the final dot or "
        "tempfail at RCPT; tls: the sites' STARTTLS faults alone; dns: the DNS faults alone "
        "(with --routing dns)",
    )
    certify_cmd.add_argument(
        "--suites",
        type=Path,
        default=None,
        help="folder or file of suites to run, or one test as FILE::TEST (default: the "
        "property suite and the regression scenarios of fixtures/scenarios; with --faults "
        "strict, every suite)",
    )
    certify_cmd.add_argument(
        "--reports",
        type=Path,
        default=Path("reports"),
        help="where run folders go (default ./reports)",
    )

    replay_cmd = commands.add_parser(
        "replay", help="play one scenario file (an outage) against an MTA and judge it"
    )
    replay_cmd.add_argument("file", type=Path, help="scenario file (TOML)")
    # The file's own run.mta and run.backend are the defaults here.
    add_arguments(replay_cmd, {"mta": None, "backend": None, "routing": None})
    replay_cmd.add_argument("--reports", type=Path, default=Path("reports"))

    report = commands.add_parser("report", help="list past runs, or say where one's report is")
    report.add_argument(
        "run", nargs="?", default=None, help="a run id or run folder: print its report.html"
    )
    report.add_argument(
        "--open", action="store_true", help="print where the latest run's report.html is"
    )
    report.add_argument("--reports", type=Path, default=Path("reports"))

    table = commands.add_parser("table", help="certify several MTAs and tabulate the verdicts")
    table.add_argument(
        "--mta",
        action="append",
        dest="mtas",
        metavar="NAME",
        help="an MTA to certify, or a tuned one (exim-tuned: fixtures/tuning/exim.conf) "
        "(repeatable; default: the whole table)",
    )
    table.add_argument("--reports", type=Path, default=Path("reports"))
    table.add_argument(
        "--backend",
        action="append",
        dest="backends",
        choices=BACKENDS,
        help="a backend to certify on (repeatable; default: local); one column each",
    )
    table.add_argument(
        "--faults",
        action="append",
        dest="layers",
        choices=tuple(FAULT_SUITES),
        help="the certify --faults of a column (repeatable; default: certification); tls and "
        "dns draw that layer's faults alone (dns routed by MX, where the MTA can be)",
    )
    table.add_argument(
        "--readme", type=Path, default=None, help="replace the certification table in this file"
    )
    table.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="certifications run at once, each in a world of its own (default 1); their "
        "output lines are marked with their cell",
    )

    stability = commands.add_parser(
        "stability",
        help="certify the same MTAs many times and count false verdicts",
        description="Certify each MTA --runs times (round robin), each run in its own process, "
        "and count the runs whose verdict was not the expected one. Exit 0 when every run "
        "gave its expected verdict.",
    )
    stability.add_argument(
        "--mta",
        action="append",
        dest="mtas",
        metavar="NAME",
        required=True,
        help="an MTA to certify (repeatable)",
    )
    stability.add_argument(
        "--runs", type=positive_int, default=10, help="certifications per MTA (default 10)"
    )
    stability.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="MTA=VERDICT",
        help="the verdict a run should give (PASS or FAIL); default: the certification "
        "table's (known-good MTAs PASS, the -hol configurations and seedmta-sync FAIL)",
    )
    stability.add_argument("--backend", default="local", choices=BACKENDS)
    stability.add_argument(
        "--cpu-hog",
        type=int,
        default=0,
        metavar="N",
        help="busy processes to run beside the certifications (default 0; one per CPU "
        "starves the harness the way a loaded CI machine does)",
    )
    stability.add_argument(
        "--suites",
        type=Path,
        default=None,
        help="suites each certification runs (default: certify's own)",
    )
    stability.add_argument(
        "--profile", default="ci", choices=sorted(PROFILES), help="Hypothesis profile"
    )
    stability.add_argument("--reports", type=Path, default=Path("reports"))

    build = commands.add_parser("rootfs", help="build the MTAs' root filesystems (cached)")
    build.set_defaults(handler=lambda args: build_rootfs(args.names, args.skip_unavailable))
    build.add_argument("names", nargs="*", help="recipes to build (default: all)")
    build.add_argument(
        "--skip-unavailable",
        action="store_true",
        help="skip, with a note, a recipe whose packages this machine's archive lacks "
        "(that MTA cannot be certified here) instead of failing",
    )

    routes_cmd = commands.add_parser(
        "routes", help="print the routes an external MTA needs (for --mta external.toml)"
    )
    routes_cmd.add_argument("--sites", type=int, default=6, help="remote sites (default 6)")

    routes_cmd.set_defaults(handler=routes)
    commands.add_parser("gc", help="remove processes and folders left by killed runs").set_defaults(
        handler=gc
    )
    commands.add_parser("list", help="list MTAs, backends and fault kinds").set_defaults(
        handler=list_parts
    )
    verify_cmd = commands.add_parser(
        "verify",
        help="check a build against its certificate before shipping it "
        "(exit 0 match, 1 mismatch or no PASS, 2 unreadable)",
    )
    verify_cmd.add_argument("certificate", type=Path, help="certificate.json or its run folder")
    verify_cmd.add_argument(
        "--mta-config", type=Path, help="the configuration fragment the build ships"
    )
    verify_cmd.add_argument("--image", help="the image the build ships (local or pulled)")
    verify_cmd.set_defaults(handler=verify_build)
    merge_cmd = commands.add_parser(
        "merge",
        help="make the shards of one certification (certify --shard K/N, on any machines) "
        "one run record, report and certificate",
    )
    merge_cmd.add_argument("folders", nargs="+", type=Path, help="the shards' run folders")
    merge_cmd.add_argument(
        "--out", type=Path, default=None, help="folder to write (default: a new run in ./reports)"
    )
    merge_cmd.set_defaults(handler=merge_shards)
    certify_cmd.set_defaults(handler=certify)
    replay_cmd.set_defaults(handler=replay)
    report.set_defaults(handler=report_runs)
    table.set_defaults(handler=run_table)
    stability.set_defaults(handler=run_stability)
    return parser


def suite_path(suite: Path) -> Path:
    """The file or folder of ``--suites``, which may name one test (``FILE::TEST``)."""
    return Path(str(suite).partition("::")[0])


def _default_routing(name: str) -> str:
    from harness.world import default_routing

    return default_routing(get_adapter(name))


def _check_mta(
    name: str,
    fragment: Path | None,
    image: str | None = None,
    backend: str = "local",
    routing: str = "static",
) -> None:
    """Bad input is a usage error before anything starts: unknown MTA, unreadable or
    malformed fragment, an external MTA's missing routes, no way to run a root filesystem,
    an image that cannot run here or is not there, the harness's own container run without
    the host access it needs."""
    from harness.world import check_routing, image_to_run

    if backend == "docker":
        from harness.backends.docker.inside import in_image, site_image

        if in_image():  # the harness's own image, run without the host access it needs
            from harness.backends.docker.backend import engine

            site_image(engine())
    adapter = get_adapter(name)
    check_routing(adapter, routing, backend)
    flag = "--mta-image" if image is not None else f"--mta {name}: image"
    image = image_to_run(adapter, image)
    if image is not None:
        if backend != "docker":
            raise UsageError(f"{flag} {image}: images run on --backend docker only")
        from harness.backends.docker.images import image_id

        image_id(image, flag)  # there, or one clear message naming it
    adapter.check_fragment(read_fragment(fragment), str(fragment))
    adapter.fixed_endpoints(remote_sites(MAX_SITES))  # an owner's MTA: every route named
    if adapter.rootfs is not None:
        from harness.rootfs import check_can_run, load_recipe

        check_can_run()  # not root, no unshare: say so now, not as a failed fixture
        load_recipe(adapter.rootfs)


def _plugin_option() -> list[str]:
    """``-p harness.plugin`` where the harness is not installed as a distribution (its own
    image, a checkout on PYTHONPATH), so pytest finds no entry point to load it by."""
    from importlib.metadata import entry_points

    if any(point.value == "harness.plugin" for point in entry_points(group="pytest11")):
        return []
    return ["-p", "harness.plugin"]


def _run_suites(run_dir: Path, suites: list[Path], options: list[str]) -> Run | int:
    """Run ``suites`` under pytest with the plugin; the run record, or an exit status."""
    import pytest

    first = suites[0]
    pytest_args = [
        *(str(s) for s in suites),
        "-q",
        "--tb=short",
        "-p",
        "no:cacheprovider",
        # The CLI imported the harness already; pytest need not warn that it cannot rewrite it.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "--rootdir",
        str(first if first.is_dir() else first.parent),
        f"--harness-report={run_dir}",
        f"--junitxml={run_dir / 'junit.xml'}",
        *_plugin_option(),
        *options,
    ]
    crash: Exception | None = None
    interrupts.check()  # a Ctrl-C swallowed while the CLI started: no suite starts then
    try:
        code: int | None = int(pytest.main(pytest_args))
    except Exception as exc:
        # pytest itself can fail while reporting an interrupt (seen: a TypeError formatting
        # the KeyboardInterrupt's traceback); its teardown and our record ran before that.
        crash, code = exc, None
    results_path = run_dir / "results.json"
    if not results_path.exists():
        if code == int(pytest.ExitCode.INTERRUPTED):
            # Interrupted before the run record existed (while pytest collected the suites).
            print("\nINTERRUPTED: no verdict, before any result was recorded")
            return EXIT_INTERRUPTED
        print(f"\nERROR: the suites wrote no results (pytest exit status {code})")
        return EXIT_CODES[ERROR]
    results = load_run(results_path)
    if results.interrupted:
        print(f"\nINTERRUPTED: no verdict. Partial run record: {results_path}")
        return EXIT_INTERRUPTED
    if crash is not None:
        print(f"\nERROR: pytest crashed: {type(crash).__name__}: {crash}")
        return EXIT_CODES[ERROR]
    checked = agree_with_pytest(results, code)
    if checked is not results:
        write_json_atomic(results_path, checked.as_json())
    return checked


def certify(args: argparse.Namespace) -> int:
    args.routing = args.routing or _default_routing(args.mta)
    _check_mta(args.mta, args.mta_config, args.mta_image, args.backend, args.routing)
    if args.faults == "dns" and args.routing != "dns":
        raise UsageError("--faults dns faults the MTA's MX lookups: it needs --routing dns")
    if args.suites is not None:
        suites = [args.suites]
    else:
        suites = [SUITES / suite for suite in FAULT_SUITES[args.faults]]
    if not suite_path(suites[0]).exists():
        raise UsageError(f"--suites {args.suites}: no such file or folder")
    if args.load and args.faults != "strict":  # strict plays every suite, this one with it
        suites.append(SUITES / "test_load.py")
    # A seed is always chosen and recorded, so any run can be repeated exactly.
    seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    run_dir = args.reports / new_run_id()
    run_dir.mkdir(parents=True)
    bounds = run_bounds(args.bound, args.recovery_bound, args.require_recovery, None)
    division = f", shard {args.shard}" if args.shard else ""
    division += f", {args.workers} workers" if args.workers > 1 else ""
    print(
        f"mta-harness {__version__}: certifying {args.mta} on {args.backend}, routed "
        f"{args.routing} (profile {args.profile}, seed {seed}{division}, bound "
        f"{bounds.delivery:g} s, recovery {bounds.recovery:g} s)"
    )
    # Every worker is handed every test and plays its own part of the search (--dist each;
    # harness/plugin/shards.py); the controller merges their records into one.
    workers = ["-n", str(args.workers), "--dist", "each"] if args.workers > 1 else []
    results = _run_suites(
        run_dir,
        suites,
        [
            *pytest_args(args),
            f"--harness-profile={args.profile}",
            f"--hypothesis-seed={seed}",
            *workers,
        ],
    )
    if isinstance(results, int):
        return results
    canary = play_canary(run_dir, args.backend)
    if canary.verdict == "INTERRUPTED":
        print(f"\nINTERRUPTED: no verdict (during the canary). Run record: {run_dir}")
        return EXIT_INTERRUPTED
    results = judge_canary(run_dir, results, canary)
    from harness.report.certificate import certificate, write_certificate

    issued = certificate(
        results,
        suites=[project_name(suite_path(s)) + _test_part(s) for s in suites],
        provenance=_provenance(args, suites),
        faults=args.faults,
        seed=seed,
        canary=canary,
        load=args.load,
    )
    written = write_certificate(run_dir, issued)
    print(summarise(results, run_dir))
    print(f"Certificate: {written}")
    return EXIT_CODES[results.verdict]


def merge_shards(args: argparse.Namespace) -> int:
    from harness.report.merge import merge_folders

    out = args.out or Path("reports") / new_run_id()
    merged, _ = merge_folders(args.folders, out)
    print(f"mta-harness {__version__}: merged {len(args.folders)} shards into {out}")
    print(summarise(merged, out))
    print(f"Certificate: {out / 'certificate.json'}")
    return EXIT_CODES[merged.verdict]


def _test_part(suite: Path) -> str:
    """The ``::TEST`` of a ``--suites FILE::TEST``, if it names one."""
    _, sep, test = str(suite).partition("::")
    return sep + test


def _provenance(args: argparse.Namespace, suites: list[Path]) -> Provenance:
    """Digests of what this certification ran: suites and scenario files, the user's
    fragment, the MTA's root filesystem recipe."""
    from harness.rootfs import load_recipe
    from harness.scenario_file import SCENARIOS
    from harness.world import image_to_run

    adapter = get_adapter(args.mta)
    image = image_to_run(adapter, args.mta_image)
    # The user's image is the build; its digest is in the MTA's identity, not a recipe's.
    recipe = load_recipe(adapter.rootfs) if adapter.rootfs and image is None else None
    return Provenance(
        suite_digest=files_digest([*(suite_path(s) for s in suites), SCENARIOS]),
        fragment_digest=text_digest(read_fragment(args.mta_config)) if args.mta_config else None,
        rootfs=f"{recipe.name}-{recipe.digest}" if recipe is not None else None,
        mta_image=image,
    )


def play_canary(run_dir: Path, backend: str) -> Canary:
    """Play the seed's outage against the known-bad seed model on the same backend. It must
    FAIL; if it does not, the faults never reached the links and no verdict can stand."""
    from harness.scenario_file import SCENARIOS

    # The folder's name is the canary world's run id: unique, as the run's own id is.
    folder = run_dir / f"{run_dir.name}-canary"
    folder.mkdir()
    scenario = SCENARIOS / CANARY_SCENARIO
    print(f"Canary: {CANARY_MTA} on {backend}, {scenario.name} (must FAIL)")
    # Its own pytest output goes to a file in its folder: the user reads one verdict.
    with (folder / "output.txt").open("w") as output, contextlib.redirect_stdout(output):
        outcome = _run_suites(
            folder,
            [SUITES / "test_scenarios.py"],
            [
                f"--mta={CANARY_MTA}",
                f"--backend={backend}",
                f"--scenario={scenario}",
                "--harness-progress=off",
            ],
        )
    if isinstance(outcome, int):
        verdict = "INTERRUPTED" if outcome == EXIT_INTERRUPTED else ERROR
    else:
        verdict = outcome.verdict
    print(f"Canary: {verdict}")
    return Canary(mta=CANARY_MTA, scenario=scenario.name, verdict=verdict, run=str(folder))


def judge_canary(run_dir: Path, results: Run, canary: Canary) -> Run:
    """The run record with the canary in it; ERROR (and said why) unless the canary FAILed."""
    update: dict[str, Any] = {"canary": canary}
    if canary.verdict != FAIL:
        update["verdict"] = ERROR
        update["errors"] = [
            *results.errors,
            f"canary: the harness could not make a known-bad MTA fail here ({canary.mta} "
            f"on {canary.scenario}: {canary.verdict}, expected FAIL); the faults may "
            f"not reach the links. Canary run: {canary.run}",
        ]
    results = results.model_copy(update=update)
    from harness.report.html import write_report

    write_json_atomic(run_dir / "results.json", results.as_json())
    write_report(run_dir, results)
    return results


def replay(args: argparse.Namespace) -> int:
    from harness.scenario_file import load_outage

    outage = load_outage(args.file)  # every problem named before anything starts
    args.mta = args.mta or outage.mta or DEFAULT_MTA
    args.backend = args.backend or outage.backend or "local"
    args.routing = args.routing or outage.routing or _default_routing(args.mta)
    _check_mta(args.mta, args.mta_config, args.mta_image, args.backend, args.routing)
    run_dir = args.reports / new_run_id()
    run_dir.mkdir(parents=True)
    print(
        f"mta-harness {__version__}: replaying {outage.name} ({args.file}) against "
        f"{args.mta} on {args.backend}"
    )
    results = _run_suites(
        run_dir,
        [SUITES / "test_scenarios.py"],
        [*pytest_args(args), f"--scenario={args.file.resolve()}"],
    )
    if isinstance(results, int):
        return results
    print(summarise(results, run_dir))
    return EXIT_CODES[results.verdict]


def summarise(results: Run, run_dir: Path) -> str:
    """The verdict, what was certified, and for a failure the counterexample in words."""
    identity = results.identity
    version = identity.version if identity else "?"
    digest = identity.config_digest if identity else "?"
    lines = [
        "",
        f"{results.verdict}: {results.mta} (version {version}, config {digest})"
        f" after {results.examples_run} example(s), {results.failing_examples} failing",
        f"  {results.examples_judged} example(s) judged healthy mail while a link was faulted",
    ]
    if results.verdict == PASS:
        lines.append("  " + pass_sentence(results))
    for claim in results.claims:
        lines.append("  " + describe_claim(claim))
    for test, counterexample in results.counterexamples.items():
        kind = "Counterexample (shrunk)" if counterexample.shrunk else "Failing example"
        if counterexample.intermittent:
            kind += f", intermittent: {counterexample.intermittent}"
        if counterexample.shrink_budget_ran_out:
            budget = counterexample.shrink_budget_ran_out
            kind += f"; the {budget:g} s shrink budget ran out, this is the best found"
        lines.append(f"{kind} from {test}:")
        lines += ["  " + line for line in counterexample.explanation.splitlines()]
        if counterexample.file:
            lines.append(f"  Replay it: mta-harness replay {counterexample.file}")
    explained = {c.test for c in results.counterexamples.values()}
    for test, failure in results.failures.items():
        if test not in explained:
            lines.append(f"Failed: {test}")
            lines += ["  " + line for line in failure.splitlines()]
    for error in results.errors:
        lines.append(f"  harness error: {error}")
    if results.verdict == ERROR:
        for reason in results.unjudged:
            lines.append(f"  no verdict: {reason}")
    junit = run_dir / "junit.xml"  # a merged record has none: each shard kept its own
    lines.append(f"Run record: {run_dir / 'results.json'}" + f" and {junit}" * junit.exists())
    if (run_dir / "report.html").exists():
        lines.append(f"Report: {run_dir / 'report.html'}")
    return "\n".join(lines)


def run_table(args: argparse.Namespace) -> int:
    from harness.table import certify_cells, certify_options, default_rows, markdown, replace_table
    from harness.world import can_serve_dns

    expected = dict(default_rows())
    mtas = args.mtas or list(expected)
    backends = args.backends or ["local"]
    layers = args.layers or ["certification"]
    for name in mtas:
        get_adapter(certify_options(name)[0])
    if "dns" in layers:  # before anything runs, not after an hour of other columns
        for backend in backends:
            if not can_serve_dns(backend):
                raise UsageError(
                    f"--faults dns --backend {backend}: the run's DNS server needs root here "
                    "(it listens on port 53)"
                )
    if args.jobs < 1 or args.jobs > 8:
        raise UsageError(f"--jobs: 1 to 8 certifications at once, not {args.jobs}")
    cells = [
        (name, backend, expected.get(name, "?"), faults)
        for name in mtas
        for backend in backends
        for faults in layers
    ]
    rows = certify_cells(cells, args.reports, args.jobs)
    command = "mta-harness table" + "".join(f" --mta {m}" for m in args.mtas or [])
    command += "".join(f" --backend {b}" for b in backends)
    command += "".join(f" --faults {f}" for f in args.layers or [])
    text = markdown(rows, command)
    print("\n" + text)
    if args.readme is not None:
        replace_table(args.readme, text)
        print(f"table written into {args.readme}")
    return 0 if all(r.verdict in (r.expected, "-") for r in rows) else 1


def run_stability(args: argparse.Namespace) -> int:
    from harness.stability import run_stability as stability
    from harness.table import DEFAULT_MTAS

    known = dict(DEFAULT_MTAS)
    expected: dict[str, str] = {}
    for item in args.expect:
        mta, sep, verdict = item.partition("=")
        if not sep or verdict not in (PASS, FAIL) or mta not in args.mtas:
            raise UsageError(
                f"--expect {item!r}: expected MTA=PASS or MTA=FAIL for an MTA given with --mta"
            )
        expected[mta] = verdict
    for name in args.mtas:
        _check_mta(name, None)
        if name not in expected and known.get(name) not in (PASS, FAIL):
            raise UsageError(f"--mta {name}: no known verdict; say it with --expect {name}=PASS")
        expected.setdefault(name, known[name])
    if args.cpu_hog < 0 or args.cpu_hog > 64:
        raise UsageError(f"--cpu-hog: 0 to 64 busy processes, not {args.cpu_hog}")
    certify_args = [f"--profile={args.profile}"]
    if args.suites is not None:
        if not suite_path(args.suites).exists():
            raise UsageError(f"--suites {args.suites}: no such file or folder")
        certify_args.append(f"--suites={args.suites.absolute()}")
    # The command that repeats this session, written into its record.
    command = "mta-harness stability" + "".join(f" --mta {m}" for m in args.mtas)
    command += f" --runs {args.runs} --backend {args.backend} --cpu-hog {args.cpu_hog}"
    command += "".join(f" --expect {e}" for e in args.expect)
    if args.suites is not None:
        command += f" --suites {args.suites}"
    if args.profile != "ci":
        command += f" --profile {args.profile}"
    return stability(
        [(name, expected[name]) for name in dict.fromkeys(args.mtas)],
        args.runs,
        args.backend,
        args.reports,
        args.cpu_hog,
        certify_args,
        command,
    )


def gc_docker() -> str:
    """Remove containers and networks of killed docker runs, if an engine answers."""
    from harness.backends.docker.backend import engine, reap_containers
    from harness.runtime import runtime_root

    try:
        client = engine()
    except UsageError:
        return "no Docker engine answers: no containers to check"
    removed = reap_containers(client, str(runtime_root())).containers
    return f"removed {len(removed)} container(s)/network(s) of killed docker runs"


def build_rootfs(names: list[str], skip_unavailable: bool = False) -> int:
    from harness.rootfs import RECIPES, PackageUnavailable, ensure_rootfs

    for name in names or sorted(p.stem for p in RECIPES.glob("*.toml")):
        try:
            print(f"root filesystem {name}: {ensure_rootfs(name)}")
        except PackageUnavailable as exc:
            if not skip_unavailable:
                raise
            print(f"{exc}: skipped; --mta {name} cannot run on this machine")
    return 0


def report_runs(args: argparse.Namespace) -> int:
    from harness.report.runs import report_command

    return report_command(args.reports, args.run, args.open)


def routes(args: argparse.Namespace) -> int:
    from harness.mta.external import routes_to_configure

    if not 1 <= args.sites <= 6:
        raise UsageError(f"--sites: 1 to 6, not {args.sites}")
    print(routes_to_configure(args.sites))
    return 0


def gc(args: argparse.Namespace) -> int:
    # Containers first: they hold files of their run's scratch folder.
    docker = gc_docker()
    print(reap_orphans().describe())
    print(docker)
    return 0


def verify_build(args: argparse.Namespace) -> int:
    from harness.report.verify import load_certificate, refused, verify

    cert = load_certificate(args.certificate)
    fragment = read_fragment(args.mta_config) if args.mta_config is not None else None
    from harness.backends.docker.images import image_id

    image = image_id(args.image) if args.image is not None else None
    checks = verify(cert, fragment, image)
    for check in checks:
        print(f"{check.what:16} {check.outcome:12} {check.detail}")
    if refused(checks):
        print(f"REFUSED: {args.certificate} does not certify this build")
        return EXIT_CODES[FAIL]
    print(f"VERIFIED: {args.certificate} certifies this build ({cert.mta.name}, PASS)")
    return 0


def list_parts(args: argparse.Namespace) -> int:
    print("MTAs:     " + ", ".join(sorted(ADAPTERS)))
    print("backends: " + ", ".join(BACKENDS))
    print("faults:   " + ", ".join(fault_kinds()))
    return 0


def main(argv: list[str] | None = None) -> int:
    interrupts.install()  # again for the console script, which does not run __main__
    # A run that seems stuck can be asked where it is: kill -USR1 <pid> prints every
    # thread's stack to stderr, and the run carries on.
    with contextlib.suppress(OSError, ValueError):  # stderr without a file descriptor
        # A duplicate of the real stderr: pytest's capture later points descriptor 2 at a
        # temporary file, and the stacks must reach the person who asked.
        _STACK_DUMPS.append(os.fdopen(os.dup(sys.stderr.fileno()), "w"))
        faulthandler.register(signal.SIGUSR1, file=_STACK_DUMPS[-1], all_threads=True)
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except UsageError as exc:
        print(f"mta-harness: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl-C before the suites took over: nothing ran yet
        print("\nINTERRUPTED: no verdict.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except HarnessError as exc:
        print(f"mta-harness: ERROR: {exc}", file=sys.stderr)
        return EXIT_CODES[ERROR]
    except Exception as exc:
        # Never exit 1 (FAIL) for the harness's own trouble (a run folder it cannot create,
        # a certificate it cannot write): ERROR, in one line. MTA_HARNESS_TRACEBACK=1 shows
        # the traceback for whoever debugs the harness.
        if os.environ.get("MTA_HARNESS_TRACEBACK"):
            raise
        print(
            f"mta-harness: ERROR: the harness failed: {type(exc).__name__}: {_one_line(exc)}",
            file=sys.stderr,
        )
        return EXIT_CODES[ERROR]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
