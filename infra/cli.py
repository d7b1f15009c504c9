"""`pishkhan`: operations on the event history.

pishkhan replay [NAME ...] [--fresh] [--jobs N]  rebuild read models into shadow tables, then switch
pishkhan verify [NAME ...]               rebuild into scratch tables and compare with the live ones
pishkhan audit SUBJECT [--format F]      a request's or account's history (table|jsonl|html|pdf)
pishkhan export [--stream S ...]         events as JSON lines (stdout or -o FILE)
pishkhan import FILE [--to URL]          JSON lines into a store (SQLite → PostgreSQL, …)
pishkhan integrity [--backfill] [--against HEAD_FILE]
                                         check the chains and heads; name the first change
pishkhan heads [--record] [--new-key]    the store's signed heads, to publish elsewhere
pishkhan parked [SERVICE ...]            parked events; --inspect/--retry/--skip ID
pishkhan stats                           events per type and day, store size, projection lags,
                                         parked events
pishkhan partners add --name NAME [--unit UNIT] [--webhook URL]
                                         a partner of the Open311 API: prints its id, key and
                                         webhook secret, once (one JSON line)
pishkhan partners list|revoke ID [--reason R]|rotate ID
                                         partners as the store tells them; cut one off; a new
                                         key and secret (printed once)

NAME is a service (all its read models) or one projection (e.g. secretariat.inbox). The
commands read the same environment variables as the services (EVENTSTORE_URL, DATABASE_URL,
READMODEL_URL, PISHKHAN_VAR).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from contracts.eventstore import EventStore
from infra.db import Database, readmodel_url
from infra.eventstore import open_store
from infra.eventstore.sql import SqlEventStore
from infra.ops import heads, history, integrity, parked, report, stats, transfer
from infra.ops.replay import REPLAY_BATCH, ReplayJob, run_jobs, verify_projection
from infra.projections import Projection


def _catalogue() -> dict[str, list[Projection]]:
    from services.read_models import read_models

    return read_models()


def _chosen(names: list[str]) -> list[tuple[str, list[Projection]]]:
    """(service, projections) for the given service or projection names; all when empty."""
    known = _catalogue()
    by_projection = {p.name: (service, p) for service, ps in known.items() for p in ps}
    unknown = sorted(n for n in names if n not in known and n not in by_projection)
    if unknown:
        raise SystemExit(
            f"unknown names: {', '.join(unknown)}; services: {', '.join(known)}; "
            f"projections: {', '.join(by_projection)}"
        )
    chosen: dict[str, list[Projection]] = {}
    for service, projections in known.items():
        for projection in projections:
            if not names or service in names or projection.name in names:
                chosen.setdefault(service, []).append(projection)
    return list(chosen.items())


@contextlib.contextmanager
def _store(url: str | None = None) -> Iterator[EventStore]:
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def _database(service: str) -> Iterator[Database]:
    db = Database(readmodel_url(service))
    try:
        yield db
    finally:
        db.dispose()


def replay(names: list[str], *, fresh: bool = False, batch: int = REPLAY_BATCH, jobs: int = 1) -> None:
    """Rebuild read models into shadow tables and switch them in (never sends an SMS);
    all of them from one reading of the history, or shared out into `jobs` groups, each in its
    own process (`infra.ops.replay.run_jobs`)."""
    from services.read_models import projection_named

    work = [
        ReplayJob(service, projection.name, None, readmodel_url(service), fresh, batch)
        for service, projections in _chosen(names)
        for projection in projections
    ]
    for done in run_jobs(work, projection_named, width=jobs):
        result, elapsed = done.result, done.seconds
        rate = result.applied / elapsed if elapsed else 0.0
        resumed = f", resumed from position {result.resumed_from}" if result.resumed_from else ""
        print(
            f"{done.job.service}: {result.projection}: {result.applied} events in {elapsed:.2f}s "
            f"({rate:,.0f}/s){resumed}; switched in at position {result.switched_at}",
            flush=True,
        )


def verify(names: list[str]) -> int:
    """Compare each read model with a scratch rebuild; 1 when one differs."""
    status = 0
    with _store() as store:
        for service, projections in _chosen(names):
            with _database(service) as db:
                for projection in projections:
                    result = verify_projection(store, db, projection)
                    for live, rebuilt in result.tables:
                        mark = "ok" if live == rebuilt else "DIFFERS"
                        print(
                            f"{service}: {live.table} at position {result.position}: "
                            f"live {live.count} rows {live.checksum[:12]}, "
                            f"rebuilt {rebuilt.count} rows {rebuilt.checksum[:12]}: {mark}"
                        )
                    if result.difference is not None:
                        print(f"first difference: {result.difference.describe()}")
                        status = 1
    return status


def audit(subject: str, fmt: str, output: str | None, font: str | None) -> None:
    """Print or write the history of whatever `subject` names: a request (by its id, tracking
    code, registration number or applicant's national code), an account or a stream; one
    section for each request or account it names."""
    with _store() as store:
        groups = history.find_groups(store, subject)
        sections = history.group_rows(groups, history.Actors(store))
    if not sections:
        raise SystemExit(
            f"هیچ رویدادی دربارهٔ «{subject}» پیدا نشد (شناسهٔ درخواست، کد رهگیری، شمارهٔ ثبت، کد ملی،"
            f" شناسهٔ حساب یا نام جریان) — no events about {subject!r}: it names no request, account"
            " or stream"
        )
    generated = history.jalali(datetime.now(UTC))
    if fmt == "pdf":
        chosen = report.pdf_font(font)
        if chosen is None:
            raise SystemExit("no font with Persian glyphs found; pass --font FILE.ttf or use --format html")
        data = report.as_pdf(subject, sections, generated, chosen)
        named = "".join(c if c.isalnum() or c in "-_." else "-" for c in subject)  # 1405/23/7
        Path(output or f"audit-{named}.pdf").write_bytes(data)
        return
    text = (
        {
            "jsonl": report.as_json_lines,
            "table": report.as_table,
        }[fmt](sections)
        if fmt != "html"
        else report.as_html(subject, sections, generated)
    )
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def export(streams: list[str], output: str | None, source: str | None, allow_broken: bool = False) -> None:
    """Write events as JSON lines (refused for a history that does not verify, unless
    `allow_broken`: then each bad event is marked)."""
    with _store(source) as store:
        try:
            with _output(output) as out:
                count = transfer.export(store, out, streams or None, allow_broken=allow_broken)
        except transfer.ExportRefused as refused:
            if output:
                Path(output).unlink(missing_ok=True)
            raise SystemExit(f"export refused: {refused}") from None
    print(f"exported {count} events", file=sys.stderr)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8") as out:
        yield out


def import_(path: str, target: str | None, allow_broken: bool = False) -> None:
    """Read JSON lines into a store: all of them, or (refused) none."""
    with _store(target) as store, open(path, encoding="utf-8") as lines:
        try:
            result = transfer.import_events(store, lines, allow_broken=allow_broken)
        except transfer.ImportRefused as refused:
            raise SystemExit(f"import refused, nothing written: {refused}") from None
    for note in result.notes:
        print(note)
    print(f"imported {result.written} events, {result.skipped} already there")


def check_integrity(do_backfill: bool, against: str | None = None) -> int:
    """Verify the chains (after an optional backfill), and that the history extends the heads in
    `against`; 1 when the history was changed."""
    with _store() as store:
        if isinstance(store, SqlEventStore):
            if do_backfill:
                print(f"backfilled {integrity.backfill(store)} events")
            try:
                published = heads.read_heads(Path(against)) if against else []
            except (OSError, ValueError) as error:
                raise SystemExit(f"cannot read the heads in {against}: {error}") from None
            found = integrity.check(store, against=published)
        else:
            from infra.eventstore.esdb import EsdbEventStore

            assert isinstance(store, EsdbEventStore)
            if do_backfill or against:
                raise SystemExit(
                    "EventStoreDB: its events cannot be rewritten, and it keeps no store-wide chain"
                )
            found = integrity.check_esdb(store)
    print(f"checked {found.events} events in {found.streams} streams, {found.heads} signed heads")
    if found.unhashed or found.unlinked:
        print(
            f"{max(found.unhashed, found.unlinked)} events were stored before the chains: run with --backfill"
        )
    for finding in found.broken:
        print(finding.describe())
    if found.broken:
        first = (
            min(f.position for f in found.broken if f.position)
            if any(f.position for f in found.broken)
            else 0
        )
        print(f"the history was changed{f' (first at position {first})' if first else ''}")
    return 1 if found.broken else 0


def show_heads(record: bool, since: int, new_key: bool) -> int:
    """Print the signed heads (after recording one now, with `record`), one JSON line each."""
    if new_key:
        print(heads.new_key())
        return 0
    with _store() as store:
        if not isinstance(store, SqlEventStore):
            raise SystemExit("signed heads are kept by the SQL stores only")
        if record:
            key = heads.configured_key()
            if key is None:
                raise SystemExit(
                    "set EVENTSTORE_SIGNING_KEY to sign heads (pishkhan heads --new-key makes one)"
                )
            if heads.record(store.engine, key) is None:
                raise SystemExit(
                    "nothing to sign: the store is empty, or run `pishkhan integrity --backfill` first"
                )
        for head in heads.stored(store.read_engine, since):
            print(head.as_line())
    return 0


def show_parked(services: list[str], inspect: int | None, retry: int | None, skip: int | None) -> int:
    """List parked events, or act on one."""
    chosen = _chosen(services)
    if inspect is not None or retry is not None or skip is not None:
        if len(chosen) != 1:
            raise SystemExit("name exactly one service with --inspect, --retry or --skip")
        service, projections = chosen[0]
        with _store() as store, _database(service) as db:
            if inspect is not None:
                row = parked.inspect(store, db, inspect)
                print(json.dumps(row, ensure_ascii=False, indent=2) if row else f"no parked event {inspect}")
                return 0 if row else 1
            if retry is not None:
                ok, why = parked.retry(store, db, projections, retry)
                print(f"parked event {retry}: " + ("applied" if ok else f"still parked: {why}"))
                return 0 if ok else 1
            assert skip is not None
            done = parked.skip(db, skip)
            print(f"parked event {skip}: " + ("skipped" if done else "not found"))
            return 0 if done else 1
    for service, projections in chosen:
        with _database(service) as db:
            names = {p.name for p in projections}
            for row in parked.list_parked(db):
                if row["projection"] in names:
                    print(json.dumps({"service": service, **row}, ensure_ascii=False))
    return 0


def show_stats() -> None:
    """Print the store's counts, every read model's lag and the events projections parked."""
    with _store() as store:
        found = stats.store_stats(store)
        size = "unknown" if found.size_bytes is None else f"{found.size_bytes / 1e6:,.1f} MB"
        print(f"events: {found.events}  last position: {found.last_position}  store size: {size}")
        print("per type:")
        for name, count in found.per_type.most_common():
            print(f"  {name:<32} {count:>10}")
        print("per day (UTC):")
        for day, count in sorted(found.per_day.items()):
            print(f"  {day}  {count:>10}")
        print("projection lags:")
        for service, projections in _chosen([]):
            with _database(service) as db:
                for lag in stats.lags(store, service, db, projections):
                    pending = "" if lag.pending_events is None else f", {lag.pending_events} events to apply"
                    print(
                        f"  {lag.projection:<28} checkpoint {lag.checkpoint:>8}  "
                        f"behind {lag.behind_positions}{pending}"
                    )
        incidents: list[stats.Parked] = []
        for service, projections in _chosen([]):
            with _database(service) as db:
                incidents.extend(stats.parked(service, db, projections))
        print(f"parked events: {sum(p.count for p in incidents) or 'none'}")
        for item in incidents:
            print(
                f"  {item.projection:<28} {item.count:>8} parked  first at position {item.first_position} "
                f"({item.first_type}); see `pishkhan parked {item.service}`"
            )


def partners_command(action: str, args: argparse.Namespace) -> int:
    """`pishkhan partners …`: the operator acts as the administrator would on the «شرکا» page;
    every answer is one JSON line (a list, one line per partner)."""
    import services.identity.partners as partners
    from contracts.errors import DomainError
    from contracts.partners import AddPartner, PartnerCommand, RevokePartner

    operator = partners.Actor("cli", operator=True)
    shown: tuple[str, ...] = ("id", "api_key", "webhook_secret")
    with _store() as store:
        try:
            if action == "list":
                for partner in partners.from_history(store):
                    print(json.dumps(partner, ensure_ascii=False))
                return 0
            if action == "add":
                form = AddPartner(name=args.name, unit=args.unit, webhook_url=args.webhook, actor="cli")
                made = partners.add(store, form, operator)
            elif action == "rotate":
                made = partners.rotate(store, PartnerCommand(partner_id=args.id, actor="cli"), operator)
            else:
                revoke = RevokePartner(partner_id=args.id, reason=args.reason, actor="cli")
                made = {**partners.revoke(store, revoke, operator), "api_key": None, "webhook_secret": None}
                shown = ("id", "status")
        except DomainError as error:
            print(f"pishkhan partners {action}: {error.code}: {error.message}", file=sys.stderr)
            return 1
        except ValueError as error:  # a malformed id or name (pydantic)
            print(f"pishkhan partners {action}: {error}", file=sys.stderr)
            return 2
    print(json.dumps({name: made[name] for name in shown}, ensure_ascii=False))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pishkhan", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("replay", help="rebuild read models without downtime")
    sub.add_argument("names", nargs="*")
    sub.add_argument(
        "--fresh", action="store_true", help="discard an interrupted build instead of resuming it"
    )
    sub.add_argument("--batch", type=int, default=REPLAY_BATCH)
    sub.add_argument("--jobs", type=int, default=1, help="processes the projections are shared out to")
    commands.add_parser("verify", help="compare read models with a rebuild").add_argument("names", nargs="*")
    sub = commands.add_parser("audit", help="a request's or account's full history")
    sub.add_argument(
        "subject",
        help="request id, tracking code, registration number, national code, account id or stream name",
    )
    sub.add_argument("--format", choices=("table", "jsonl", "html", "pdf"), default="table")
    sub.add_argument("-o", "--output")
    sub.add_argument("--font", help="a .ttf with Persian glyphs for the PDF")
    sub = commands.add_parser("export", help="events as JSON lines")
    sub.add_argument("--stream", action="append", default=[])
    sub.add_argument("-o", "--output")
    sub.add_argument("--from", dest="source", help="store URL (default: EVENTSTORE_URL)")
    sub.add_argument(
        "--allow-broken", action="store_true", help="export a history that does not verify, marked"
    )
    sub = commands.add_parser("import", help="JSON lines into a store")
    sub.add_argument("file")
    sub.add_argument("--to", dest="target", help="store URL (default: EVENTSTORE_URL)")
    sub.add_argument("--allow-broken", action="store_true", help="import events an export marked broken")
    sub = commands.add_parser("integrity", help="verify the hash chains and signed heads")
    sub.add_argument(
        "--backfill", action="store_true", help="first chain events stored before the chains existed"
    )
    sub.add_argument("--against", metavar="HEAD_FILE", help="heads published earlier (from `pishkhan heads`)")
    sub = commands.add_parser("heads", help="the store's signed heads, one JSON line each")
    sub.add_argument(
        "--record", action="store_true", help="sign the store's end now (EVENTSTORE_SIGNING_KEY)"
    )
    sub.add_argument("--since", type=int, default=0, metavar="POSITION", help="only heads after POSITION")
    sub.add_argument("--new-key", action="store_true", help="print a new signing key and stop")
    sub = commands.add_parser("parked", help="parked events")
    sub.add_argument("services", nargs="*")
    actions = sub.add_mutually_exclusive_group()
    actions.add_argument("--inspect", type=int, metavar="ID")
    actions.add_argument("--retry", type=int, metavar="ID")
    actions.add_argument("--skip", type=int, metavar="ID")
    commands.add_parser("stats", help="counts, size and lags")
    sub = commands.add_parser("partners", help="partners of the Open311 API and their keys")
    partner_actions = sub.add_subparsers(dest="action", required=True)
    added = partner_actions.add_parser("add", help="add a partner; prints its key and secret once")
    added.add_argument("--name", required=True)
    added.add_argument("--unit", default="", help="the unit whose requests it sees (default: all)")
    added.add_argument("--webhook", default="", help="the URL its webhooks are posted to")
    partner_actions.add_parser("list", help="every partner, one JSON line each")
    revoked = partner_actions.add_parser("revoke", help="cut a partner off")
    revoked.add_argument("id")
    revoked.add_argument("--reason", default="لغو دسترسی از خط فرمان")
    partner_actions.add_parser("rotate", help="a new key and webhook secret, printed once").add_argument("id")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `pishkhan` command. Ctrl-C ends it with status 130 and one line, no
    traceback (what a command writes is in transactions: an interrupted one leaves nothing)."""
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except KeyboardInterrupt:
        print(f"\npishkhan {args.command}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None


def _run(args: argparse.Namespace) -> None:
    status = 0
    if args.command == "replay":
        replay(args.names, fresh=args.fresh, batch=args.batch, jobs=args.jobs)
    elif args.command == "verify":
        status = verify(args.names)
    elif args.command == "audit":
        audit(args.subject, args.format, args.output, args.font)
    elif args.command == "export":
        export(args.stream, args.output, args.source, args.allow_broken)
    elif args.command == "import":
        import_(args.file, args.target, args.allow_broken)
    elif args.command == "integrity":
        status = check_integrity(args.backfill, args.against)
    elif args.command == "heads":
        status = show_heads(args.record, args.since, args.new_key)
    elif args.command == "parked":
        status = show_parked(args.services, args.inspect, args.retry, args.skip)
    elif args.command == "partners":
        status = partners_command(args.action, args)
    else:
        show_stats()
    if status:
        raise SystemExit(status)


if __name__ == "__main__":
    main(sys.argv[1:])
