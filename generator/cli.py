"""Command line: ``newshub init``, ``newshub build``, ``newshub serve``, ``newshub i18n``.

The editorial workflow: ``newshub translations``, ``newshub new``, ``newshub check``.

Exit codes: 0 success, 1 content or template errors, 2 bad usage.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from generator import __version__, snapshot
from generator.config import DEFAULT_BASE_URL, SiteConfig, load_config
from generator.errors import SiteError

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def run() -> None:
    """The ``newshub`` command: ``main``, then exit without tearing down the interpreter
    object by object (after a large build that takes a few tenths of a second; the
    system frees the process's memory at once). Everything is written and closed by
    then; only the output streams need flushing. Under a profiler or tracer (cProfile,
    coverage), exit normally so they can write their results.

    Commands other than ``serve`` run once and exit, so they run without the cyclic
    garbage collector: a build pauses it anyway, and turning it back on would walk
    every record the build made once more just before the process ends."""
    if sys.argv[1:2] != ["serve"]:
        gc.disable()
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if not getattr(args, "needs_site", True):
        return args.handler(args, None)
    site = Path(args.site).resolve()
    if not site.is_dir():
        parser.error(f"--site {args.site}: no such folder")
    try:
        return args.handler(args, site)
    except SiteError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"newshub: {count} error{'s' if count != 1 else ''}; nothing was written "
              "(the previous output is unchanged)", file=sys.stderr)
        return EXIT_ERRORS
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newshub", description="Build multilingual, mobile-first news sites from Markdown.",
        epilog="Start a site: newshub init mysite --languages en,fr,ar; then cd mysite and "
               "run newshub build (or newshub serve to preview while you write).")
    parser.add_argument("--version", action="version", version=f"newshub {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init_cmd = commands.add_parser("init", help="start a new site in a new folder")
    init_cmd.add_argument("folder", help="the new site's folder (created; must be empty)")
    init_cmd.add_argument("--languages", default="en", metavar="en,fr,ar",
                          help="language codes, the default language first (default: en)")
    init_cmd.add_argument("--title", default="Our News", help="the site's and organisation's "
                                                              "name (default: Our News)")
    init_cmd.add_argument("--base-url", default=DEFAULT_BASE_URL,
                          help="the address the site will be served from")
    init_cmd.add_argument("--force", action="store_true",
                          help="write into a folder that is not empty")
    init_cmd.add_argument("--ci-matrix", action="store_true",
                          help="a publishing workflow that builds each language on a "
                               "machine of its own and merges them (large archives)")
    init_cmd.set_defaults(handler=_init, needs_site=False)

    build_cmd = commands.add_parser("build", help="build the site into the output folder")
    _site_option(build_cmd)
    build_cmd.add_argument("--output", default=None, help="output folder (default: SITE/output)")
    build_cmd.add_argument("--base-url", default=None,
                           help="absolute URL the site is served from (or $NEWSHUB_BASE_URL)")
    build_cmd.add_argument("--drafts", action="store_true", help="include drafts and future posts")
    build_cmd.add_argument("--now", default=None, metavar="WHEN",
                           help="publish as at this moment, not the machine's clock: "
                                "2026-03-14T09:30:00Z, an offset such as +03:00, a date "
                                "(00:00 UTC) or @UNIX_SECONDS; every machine of a split "
                                "build passes the same")
    build_cmd.add_argument("--jobs", type=_positive, default=None,
                           help="worker processes for rendering (default: all cores)")
    build_cmd.add_argument("--languages", type=_codes, default=(), metavar="fr,ar",
                           help="build only these languages' files (and the shared ones), "
                                "leaving the others' in the output folder: for CI matrices")
    build_cmd.add_argument("--no-cards", action="store_true",
                           help="skip generating share-card images (og:image falls back to "
                                "the article image)")
    build_cmd.add_argument("--no-search", action="store_true",
                           help="skip the search phase: no Pagefind index, search page or "
                                "search link (quicker previews)")
    build_cmd.add_argument("--no-compress", action="store_true",
                           help="skip the .br and .gz copies of text files (quicker previews; "
                                "hosts that compress on the fly need none)")
    build_cmd.add_argument("--force", action="store_true",
                           help="ignore the cache in SITE/.newshub-cache: parse and render all")
    build_cmd.add_argument("--verify-output", action="store_true",
                           help="check every file of the output folder, not only its folders, "
                                "and rebuild any deleted or changed by hand (slower: one "
                                "stat per file)")
    build_cmd.add_argument("--strict", action="store_true",
                           help="then run newshub check on the result; warnings fail too "
                                "(exit 1; the new output stays in place)")
    build_cmd.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    build_cmd.add_argument("-v", "--verbose", action="store_true",
                           help="print the time of each phase")
    build_cmd.set_defaults(handler=_build)

    serve_cmd = commands.add_parser("serve", help="build, serve on localhost, rebuild and "
                                                  "reload the browser on every change")
    _site_option(serve_cmd)
    serve_cmd.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default: 127.0.0.1, this machine only; "
                                "requests must name it or localhost)")
    serve_cmd.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve_cmd.add_argument("--no-drafts", action="store_true",
                           help="leave drafts and future posts out, as the published site does")
    serve_cmd.set_defaults(handler=_serve)

    i18n_cmd = commands.add_parser("i18n", help="manage the theme's translation catalogs")
    _site_option(i18n_cmd)
    i18n_cmd.add_argument("action", choices=["extract", "update", "compile", "status"],
                          help="extract: write locales/messages.pot; update: merge it into "
                               "each language's .po; compile: write .mo files; status: how "
                               "much of the interface each language translates")
    i18n_cmd.add_argument("--all", action="store_true",
                          help="status: every language newshub ships a catalog for, too")
    i18n_cmd.set_defaults(handler=_i18n)
    _editorial_commands(commands)
    _import_commands(commands)
    return parser


def _editorial_commands(commands: argparse._SubParsersAction) -> None:
    status_cmd = commands.add_parser("translations", help="which stories are missing or "
                                                          "outdated in which language")
    _site_option(status_cmd)
    status_cmd.add_argument("--lang", default=None, help="only this language")
    status_cmd.add_argument("--json", action="store_true", help="JSON for scripts")
    status_cmd.set_defaults(handler=_translations)

    new_cmd = commands.add_parser("new", help="start a post, or a draft translation of one")
    _site_option(new_cmd)
    new_cmd.add_argument("path", help="section/slug, such as news/water-points (or a page: about)")
    new_cmd.add_argument("--lang", required=True, help="language of the new file")
    new_cmd.add_argument("--from", dest="source", default=None,
                         help="copy this language's version as a draft translation")
    new_cmd.add_argument("--title", default=None, help="title (default: from the slug)")
    new_cmd.set_defaults(handler=_new)

    check_cmd = commands.add_parser("check", help="check the built site: links, anchors, "
                                                  "images, privacy, weight, translations")
    _site_option(check_cmd)
    check_cmd.add_argument("--output", default=None, help="built site (default: SITE/output)")
    check_cmd.add_argument("--base-url", default=None,
                           help="the base URL it was built with (or $NEWSHUB_BASE_URL)")
    check_cmd.add_argument("--strict", action="store_true", help="warnings fail too")
    check_cmd.add_argument("--json", action="store_true", help="JSON for scripts")
    check_cmd.set_defaults(handler=_check)


def _site_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", default=".", help="site folder with site.toml and content/ "
                                                    "(default: current folder)")


PROGRESS_MINIMUM = 500  # items; smaller phases finish before a progress line helps


def _show_progress(phase: str, done: int, total: int) -> None:
    """One self-updating line on a terminal: ``rendering 4,210/14,089``."""
    if total < PROGRESS_MINIMUM:
        return
    end = "\n" if done >= total else ""
    print(f"\r{phase} {done:,}/{total:,}", end=end, file=sys.stderr, flush=True)


def _codes(text: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in text.split(",") if code.strip())


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def moment(text: str) -> datetime:
    """``--now``'s value: ISO 8601 with an offset or Z, a date alone (00:00 UTC), or
    ``@`` and whole Unix seconds (as ``date -u +%s`` prints them). A time without an
    offset is refused rather than guessed: machines in other zones would disagree."""
    if text.startswith("@"):
        if not re.fullmatch(r"[0-9]+", text[1:]):
            raise ValueError(f"{text!r}: write @ and whole Unix seconds, such as @1773480600")
        try:
            return datetime.fromtimestamp(int(text[1:]), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{text!r} is out of range") from None
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 moment: write 2026-03-14T09:30:00Z, "
                         "2026-03-14T09:30:00+03:00, 2026-03-14 (00:00 UTC) or "
                         "@1773480600 (Unix seconds)") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no offset: add Z for UTC or the offset, such as "
                         "+03:00 (each machine's own zone would give another moment)")
    return parsed


def _build(args: argparse.Namespace, site: Path) -> int:
    try:
        now = moment(args.now) if args.now is not None else None
    except ValueError as exc:
        print(f"newshub build: --now {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.strict and args.languages:  # its pages link to languages it does not write
        print("newshub build: --strict checks the whole site, which a --languages build "
              "does not write: merge the builds' folders, then run newshub check --strict "
              "--output FOLDER", file=sys.stderr)
        return EXIT_USAGE
    start = time.perf_counter()
    config = load_config(site, base_url=args.base_url, include_drafts=args.drafts,
                         share_cards=not args.no_cards, only_languages=args.languages,
                         search=not args.no_search)
    output = Path(args.output).resolve() if args.output else site / "output"
    found = snapshot.unchanged(config, output, now.timestamp() if now else None,
                               verify=args.verify_output) \
        if not (args.force or args.strict) else None
    if isinstance(found, tuple):  # nothing to do: the engine is not even imported
        last, outputs = found
        if not args.quiet:
            _print_warnings(last.warnings, config, args.verbose)
            print(snapshot.summary_line(last.pages, last.articles, last.counts, 0, 0, outputs,
                                        0, last.search, time.perf_counter() - start, output))
        return EXIT_OK
    from generator.build import build

    log = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
    progress = _show_progress if sys.stderr.isatty() and not args.quiet else None
    result = build(config, output, jobs=args.jobs, log=log, use_cache=not args.force,
                   progress=progress, shortcut=not (args.strict or args.verify_output),
                   precompress=not args.no_compress, taken=found, now=now)
    if not args.quiet:
        _print_warnings(result.warnings if not args.strict else (), config, args.verbose)
        print(result.summary(time.perf_counter() - start, output))
    if args.strict:
        from generator import check

        report = check.check_output(result.site, output, result.warnings)
        print(check.to_text(report, strict=True), file=sys.stderr)
        return EXIT_ERRORS if report.failed(strict=True) else EXIT_OK
    return EXIT_OK


def _init(args: argparse.Namespace, _site: None) -> int:
    from generator.starter import InitError, NewSite, create_site, parse_languages

    folder = Path(args.folder).resolve()
    try:
        languages = parse_languages(args.languages)
        written = create_site(NewSite(folder, languages, args.title, args.base_url,
                                      ci_matrix=args.ci_matrix), force=args.force)
    except InitError as exc:
        print(f"newshub init: {exc}", file=sys.stderr)
        return EXIT_USAGE
    shown = Path(args.folder)
    print(f"created a site in {shown} ({len(written)} files; languages: "
          f"{', '.join(languages)})")
    print("next:")
    print(f"  cd {shown}")
    print("  newshub serve          # preview at http://127.0.0.1:8000/ while you write")
    print("  newshub build          # the site in output/")
    print("  git init && git add . && git commit -m 'New site'   # then push to GitHub: "
          "EDITORS.md says how it publishes itself")
    return EXIT_OK


def _serve(args: argparse.Namespace, site: Path) -> int:
    from generator.serve import serve  # watchdog and the server load only when serving

    return serve(site, args.host, args.port, drafts=not args.no_drafts)


def _print_warnings(warnings: Sequence[object], config: SiteConfig, verbose: bool) -> None:
    for problem in warnings:
        print(problem, file=sys.stderr)
    if verbose:
        from generator import i18n

        for line in i18n.missing_strings(config):
            print(line, file=sys.stderr)


def _i18n(args: argparse.Namespace, site: Path) -> int:
    from generator import i18n

    config = load_config(site)
    if args.action == "status":
        print("\n".join(i18n.status_table(config, every_bundled=args.all)))
        return EXIT_OK
    if args.action == "extract":
        paths = [i18n.extract_template(config)]
    elif args.action == "update":
        paths = i18n.update(config)
    else:
        paths = i18n.compile_catalogs(config)
    for path in paths:
        print(f"wrote {path}")
    return EXIT_OK


def _translations(args: argparse.Namespace, site: Path) -> int:
    from generator import translations
    from generator.scaffold import ScaffoldError, require_language

    config = load_config(site, include_drafts=True)
    try:
        if args.lang:
            require_language(config, args.lang)
    except ScaffoldError as exc:
        print(f"newshub translations: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    status = translations.translation_status(config)
    if args.json:
        print(json.dumps(translations.to_json(status, args.lang), ensure_ascii=False, indent=2))
    else:
        print(translations.to_text(status, args.lang))
    return EXIT_OK


def _new(args: argparse.Namespace, site: Path) -> int:
    from generator.scaffold import ScaffoldError, new_post

    config = load_config(site, include_drafts=True)
    try:
        created = new_post(config, args.path, args.lang, source_lang=args.source,
                           title=args.title)
    except ScaffoldError as exc:
        print(f"newshub new: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    print(f"created {created.file.relative_to(site)} (a draft: delete 'draft: true' to publish)")
    for copied in created.copied:
        print(f"copied {copied.relative_to(site)}")
    return EXIT_OK


def _check(args: argparse.Namespace, site: Path) -> int:
    from generator import check

    config = load_config(site, base_url=args.base_url, include_drafts=True)
    output = Path(args.output).resolve() if args.output else site / "output"
    if not (output / "index.html").is_file():
        print(f"newshub check: no built site in {output}: run newshub build first",
              file=sys.stderr)
        return EXIT_USAGE
    report = check.check_site(config, output)
    if args.json:
        print(json.dumps(check.to_json(report, args.strict), ensure_ascii=False, indent=2))
    else:
        print(check.to_text(report, args.strict))
    return EXIT_ERRORS if report.failed(args.strict) else EXIT_OK


def _import_commands(commands: argparse._SubParsersAction) -> None:
    import_cmd = commands.add_parser("import", help="make a newshub site from another system's "
                                                    "site or export")
    sources = import_cmd.add_subparsers(dest="source", metavar="SOURCE", required=True)
    wordpress_cmd = sources.add_parser(
        "wordpress", help="a WordPress export (Tools → Export), with Polylang or WPML "
                          "translations")
    wordpress_cmd.add_argument("export", help="the export file (WXR .xml)")
    wordpress_cmd.add_argument("--to", default=None, metavar="DIR",
                               help="the new site's folder (default: the export's name in "
                                    "the current folder); must be empty")
    wordpress_cmd.add_argument("--media", default=None, metavar="UPLOADS_DIR",
                               help="a copy of the site's wp-content/uploads: the files the "
                                    "posts use are copied into their page bundles")
    wordpress_cmd.add_argument("--force", action="store_true",
                               help="write into a folder that is not empty")
    wordpress_cmd.set_defaults(handler=_import_wordpress, needs_site=False, site=".")
    hugo_cmd = sources.add_parser("hugo", help="a Hugo site: its configuration, content/ "
                                               "and static/")
    hugo_cmd.add_argument("path", help="the Hugo site's folder")
    hugo_cmd.add_argument("--to", default=None, metavar="DIR",
                          help="the new site's folder (default: PATH's name and -newshub in "
                               "the current folder); must be empty")
    hugo_cmd.add_argument("--force", action="store_true",
                          help="write into a folder that is not empty")
    hugo_cmd.set_defaults(handler=_import_hugo, needs_site=False, site=".")


def _import_wordpress(args: argparse.Namespace, _site: Path | None) -> int:
    from generator.importers import wordpress

    export = Path(args.export)
    target = Path(args.to) if args.to else Path(export.name.split(".")[0] or "site")
    code, text = wordpress.run(export, target, Path(args.media) if args.media else None,
                               args.force)
    print(text, file=sys.stderr if code else sys.stdout)
    return code


def _import_hugo(args: argparse.Namespace, _site: Path | None) -> int:
    from generator.importers import hugo

    return hugo.run(args.path, args.to, force=args.force)
