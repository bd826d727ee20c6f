"""Render phase: jobs become bytes, with one Jinja2 environment per language.

A job carries everything its template needs in its context; templates never
reach for data behind the engine's back, which is what makes the output
deterministic and lets renders run in parallel worker processes.
"""

from __future__ import annotations

import hmac
import json
import os
import traceback
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import BuiltinFunctionType, FunctionType
from typing import Any, TypeVar

import jinja2
import jinja2.runtime
import markupsafe
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.ext import i18n as I18nExtension
from markupsafe import Markup

from generator import csp, i18n
from generator.cache import secret_key, signature
from generator.config import SiteConfig
from generator.deps import catalog_digests
from generator.errors import Problem, error
from generator.imaging import ImageError
from generator.model import EMPTY
from generator.parallel import Later, Progress, parallel_map
from generator.theme import locale_layers, theme_folders

R = TypeVar("R")
SIGNATURE_BYTES = 32
COMPILED_VERSION = 6  # bump when what templates compile to changes (6: joined output runs)
PARALLEL_THRESHOLD = 300  # below this, forking costs more than it saves


@dataclass(frozen=True, slots=True)
class Job:
    """One output file: a template with its context, bytes to make, or a file to copy.

    ``context`` may be a function, so planning costs nothing for outputs that turn out
    to be up to date; ``key`` digests everything the output depends on besides its
    template files and catalog (the build adds those), or is "" to always render.
    """

    path: str  # relative to the output folder, '/'-separated
    kind: str
    lang: str | None = None
    template: str = ""
    context: Mapping[str, Any] | Callable[[], Mapping[str, Any]] = field(
        default_factory=lambda: EMPTY)
    data: bytes | None = None
    source: Path | None = None
    produce: Callable[[], bytes] | None = None
    key: str = ""


class Renderer:
    """Jinja2 environments for a theme, one per language (catalogs differ).

    With ``compiled``, templates compiled to Python are kept there between processes
    (Jinja's bytecode cache, checked against each template's source), under each
    language's ``catalogs`` digest (``deps.catalog_digests``; read when not given).
    """

    def __init__(self, config: SiteConfig, filters: Mapping[str, Callable] = EMPTY,
                 compiled: Path | None = None,
                 catalogs: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.templates = theme_folders(config, "templates")
        self.filters = filters
        self.compiled = compiled
        self.catalogs = catalogs
        self._environments: dict[str, jinja2.Environment] = {}
        self._templates: dict[tuple[str | None, str], jinja2.Template] = {}

    def environment(self, lang: str | None) -> jinja2.Environment:
        code = lang or self.config.default_language
        if code not in self._environments:
            self._environments[code] = self._make_environment(code)
        return self._environments[code]

    def _make_environment(self, code: str) -> jinja2.Environment:
        translations = i18n.translations_for(locale_layers(self.config), code)
        if self.config.language(code).direction == "rtl":
            translations = i18n.IsolatedFallback(translations)
        env = _Environment(
            loader=jinja2.FileSystemLoader(self.templates),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            extensions=[I18nExtension],
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # a renderer lives for one set of templates (see build)
            cache_size=-1,  # a plain dict: an {% include %} looks its template up there
            bytecode_cache=self._bytecode_cache(code),
        )
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        env.globals["gettext"] = env.globals["_"] = _memoised_gettext(translations.gettext)
        digits = self.config.language(code).digits
        env.filters["date"] = lambda value, style="long": i18n.localised_date(
            value, code, style, digits)
        env.filters["datetime"] = lambda value, style="long": i18n.localised_datetime(
            value, code, style, digits)
        env.filters["number"] = lambda value: i18n.localised_number(value, code, digits)
        env.filters["inline_script"] = csp.inline_script  # allowed by its hash (csp.py)
        env.policies["json.dumps_function"] = _json_dumps  # |tojson (structured data)
        env.globals["script_hashes"] = csp.script_hashes
        env.filters.update(self.filters)
        return env

    def compile_all(self, lang: str) -> None:
        """Load every template of the theme for a language (errors wait for rendering)."""
        environment = self.environment(lang)
        for name in environment.list_templates():
            try:
                environment.get_template(name)
            except jinja2.TemplateError:
                continue

    def _bytecode_cache(self, code: str) -> jinja2.BytecodeCache | None:
        """Compiled templates hold their language's UI strings (see ``_Environment``):
        one folder per language, a file name per catalog file's content."""
        if self.compiled is None:
            return None
        if self.catalogs is None:
            self.catalogs = catalog_digests(self.config)
        key = secret_key()
        if key is None:
            return None  # nothing to sign with: compiled again by every process
        folder = self.compiled / code
        prefix = f"{COMPILED_VERSION}-{self.catalogs.get(code, '')}-"
        try:
            if folder.is_dir():
                for stale in folder.iterdir():
                    if not stale.name.startswith(prefix):
                        stale.unlink(missing_ok=True)
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return _SignedBytecodeCache(str(folder), prefix + "%s.cache", key)

    def render(self, job: Job) -> bytes:
        if job.data is not None:
            return job.data
        if job.produce is not None:
            return job.produce()
        if job.source is not None:
            return job.source.read_bytes()
        context = job.context() if callable(job.context) else job.context
        with csp.collecting() as scripts:
            text = self.template(job.lang, job.template).render(context)
        return csp.complete(text, scripts).encode("utf-8")

    def template(self, lang: str | None, name: str) -> jinja2.Template:
        """A compiled template, looked up once per language (Jinja's own cache locks
        and reorders on every lookup)."""
        key = (lang, name)
        if key not in self._templates:
            self._templates[key] = self.environment(lang).get_template(name)
        return self._templates[key]


SORTED_JSON = json.JSONEncoder(sort_keys=True)


def _json_dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` for ``|tojson``: with Jinja's options (``sort_keys``) through one
    encoder, where ``json.dumps`` makes a new encoder for every article's JSON-LD."""
    if options == {"sort_keys": True}:
        return SORTED_JSON.encode(value)
    return json.dumps(value, **options)


def _escape_via_markup(text: str) -> str:
    return str(markupsafe.escape(text))


# markupsafe's string escaper without the Markup wrapper, where it is exposed
ESCAPE_TEXT: Callable[[str], str] = getattr(markupsafe, "_escape_inner", _escape_via_markup)


def _escaped(value: Any, _escape_str: Callable[[str], str] = ESCAPE_TEXT) -> str:
    """What a template's ``{{ value }}`` writes under autoescape: ``markupsafe.escape``
    without wrapping each piece in a ``Markup`` object, since the pieces are only ever
    joined (and the join wrapped, where Jinja needs markup)."""
    if type(value) is str:
        return _escape_str(value)
    html = getattr(value, "__html__", None)
    return html() if html is not None else _escape_str(str(value))



class _SignedBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates are Python code (and Jinja reads their header with pickle): a
    file planted in the cache folder would run at the next build. So each file starts
    with a signature made with this user's key (``cache.secret_key``, kept outside any
    site); a file without a valid one is compiled again and replaced."""

    def __init__(self, directory: str, pattern: str, key: bytes) -> None:
        super().__init__(directory, pattern)
        self.key = key

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            with open(self._get_cache_filename(bucket), "rb") as handle:
                raw = handle.read()
        except OSError:
            return
        data = raw[SIGNATURE_BYTES:]
        if hmac.compare_digest(raw[:SIGNATURE_BYTES], signature(self.key, data)):
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = bucket.bytecode_to_string()
        target = self._get_cache_filename(bucket)
        folder, name = os.path.split(target)  # a leftover is swept as another version's
        temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
        try:
            with open(temporary, "wb") as handle:
                handle.write(signature(self.key, data) + data)
            os.replace(temporary, target)
        except OSError:  # not kept: compiled again next time
            with suppress(OSError):
                os.unlink(temporary)


class _Template(jinja2.Template):
    """A template whose compiled code escapes its output with ``_escaped``."""

    @classmethod
    def _from_namespace(cls, environment: jinja2.Environment, namespace: Any,
                        globals: Any) -> jinja2.Template:
        if "escape" in namespace:
            namespace["escape"] = _escaped
        return super()._from_namespace(environment, namespace, globals)  # type: ignore[misc]


class _CodeGenerator(CodeGenerator):
    """Compiles ``obj.name`` to the built-in ``getattr`` (a C call), falling back to
    Jinja's own lookup (items, then undefined) only when the attribute is missing:
    the same value, without a Python-level call for each of the ~150 lookups a page
    makes."""

    @optimizeconst
    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        if self.environment.is_async:
            self.write("(await auto_await(environment.getattr(")
            self.visit(node.node, frame)
            self.write(f", {node.attr!r})))")
            return
        owner, value = self.temporary_identifier(), self.temporary_identifier()
        self.write(f"({value} if ({value} := getattr(({owner} := ")
        self.visit(node.node, frame)
        self.write(f"), {node.attr!r}, missing)) is not missing "
                   f"else environment.getattr({owner}, {node.attr!r}))")

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        """A run of text and ``{{ … }}`` outside a buffer is joined and yielded once,
        not yielded piece by piece: each yield passes up through every enclosing
        template (a page's block, its layout, the render's join), ~200 a page. The
        pieces are the same strings, made in the same order."""
        if frame.buffer is not None or self.environment.is_async or \
                (frame.require_output_check and self.has_known_extends):
            super().visit_Output(node, frame)
            return
        body = self._output_body(node, frame)
        if len(body) < 2:
            super().visit_Output(node, frame)
            return
        if frame.require_output_check:
            self.writeline("if parent_template is None:")
            self.indent()
        finalize = self._make_finalize()
        self.writeline("yield concat((")
        self.indent()
        for item in body:
            if isinstance(item, list):
                self.writeline(self._output_const_repr(item) + ",")
            else:
                self.newline(item)
                self._output_child_pre(item, frame, finalize)
                self.visit(item, frame)
                self._output_child_post(item, frame, finalize)
                self.write(",")
        self.outdent()
        self.writeline("))")
        if frame.require_output_check:
            self.outdent()

    def _output_body(self, node: nodes.Output,
                     frame: Frame) -> list[list[Any] | nodes.Expr]:
        """``Output``'s children as Jinja groups them: runs of constant text (evaluated
        now) and expressions to evaluate at render time."""
        finalize = self._make_finalize()
        body: list[list[Any] | nodes.Expr] = []
        for child in node.nodes:
            try:
                if not (finalize.const or isinstance(child, nodes.TemplateData)):
                    raise nodes.Impossible()
                const = self._output_child_to_const(child, frame, finalize)
            except (nodes.Impossible, Exception):
                body.append(child)
                continue
            if body and isinstance(body[-1], list):
                body[-1].append(const)
            else:
                body.append([const])
        return body

    def visit_Include(self, node: nodes.Include, frame: Frame) -> None:
        """An ``{% include %}`` hands its template's output up with ``yield from`` (a C
        loop) instead of a Python loop yielding each piece again."""
        if node.ignore_missing or not node.with_context or frame.buffer is not None \
                or self.environment.is_async or not isinstance(node.template, nodes.Const) \
                or not isinstance(node.template.value, str):
            super().visit_Include(node, frame)
            return
        self.writeline("template = environment.get_template(", node)
        self.visit(node.template, frame)
        self.write(f", {self.name!r})")
        self.writeline("gen = template.root_render_func(template.new_context("
                       f"context.get_all(), True, {self.dump_local_context(frame)}))")
        self.writeline("try:")
        self.indent()
        self.writeline("yield from gen")
        self.outdent()
        self.writeline("finally: gen.close()")


class _Context(jinja2.runtime.Context):
    """Calls a template makes of C functions and methods (``page.date.isoformat()``),
    macros and plain Python functions are made directly: Jinja's ``Context.call`` looks
    for a ``pass_context`` marker on each callable and its ``__call__`` every time (a
    tenth of a list's render, a dozen calls per page)."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(__obj)
        if kind not in PLAIN_CALLABLES or \
                (kind is FunctionType and hasattr(__obj, "jinja_pass_arg")):
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_loop_vars", None)
        kwargs.pop("_block_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:  # as Jinja does
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


# callables that never take Jinja's context: C functions (no attribute can mark them), a
# template's macros, Python functions without a ``pass_*`` marker
PLAIN_CALLABLES = frozenset({BuiltinFunctionType, jinja2.runtime.Macro, FunctionType})

TRANSLATION_CALLS = frozenset({"_", "gettext"})


class _Environment(jinja2.Environment):
    """One language's environment: ``_("text")`` and plain ``{% trans %}`` blocks are
    translated when the template is compiled, so pages carry them as constant text
    (the memoised runtime call gives the same string)."""

    template_class = _Template
    code_generator_class = _CodeGenerator
    context_class = _Context

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as a plain dict, not Jinja's ``ChainMap``: each render and
        each ``{% include %}`` copies them into a new context, and a ``ChainMap`` is
        walked in Python for that (a tenth of an article's render). The environment's
        globals are all set before any template loads (``Renderer._make_environment``)."""
        return {**self.globals, **(d or {})}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        if _assigned(tree) & TRANSLATION_CALLS:  # the template defines one of them itself
            return tree
        return _folded(tree, self.globals["gettext"])


def _assigned(tree: nodes.Template) -> set[str]:
    """Every name a template binds: variables, loop targets, parameters, macros, imports."""
    names = {node.name for node in tree.find_all(nodes.Name) if node.ctx != "load"}
    names.update(node.name for node in tree.find_all(nodes.Macro))
    names.update(node.target for node in tree.find_all(nodes.Import))
    for node in tree.find_all(nodes.FromImport):
        names.update(name[1] if isinstance(name, tuple) else name for name in node.names)
    return names


def _folded(node: nodes.Node, gettext: Callable[[str], Markup]) -> Any:
    """``node`` with each constant translation call replaced by its translation."""
    for name in node.fields:
        value = getattr(node, name)
        if isinstance(value, list):
            setattr(node, name, [_translated(item, gettext) or _folded(item, gettext)
                                 if isinstance(item, nodes.Node) else item for item in value])
        elif isinstance(value, nodes.Node):
            setattr(node, name, _translated(value, gettext) or _folded(value, gettext))
    return node


def _translated(node: nodes.Node, gettext: Callable[[str], Markup]) -> nodes.Expr | None:
    if not (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name)
            and node.node.name in TRANSLATION_CALLS and len(node.args) == 1
            and isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)
            and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None):
        return None
    try:
        text = gettext(node.args[0].value)
    except (TypeError, ValueError, KeyError):
        return None  # a malformed message fails at render time, as it always did
    return nodes.MarkSafe(nodes.Const(str(text)), lineno=node.lineno)


def _memoised_gettext(translate: Callable[[str], str]) -> Callable[..., Markup]:
    """Jinja's newstyle ``gettext`` (the translation is trusted markup and always a
    %-format string; variables are escaped), remembering results whose variables are
    plain text or numbers: the same few strings appear on every page ("Share on X")."""
    memo: dict[tuple, Markup] = {}

    def gettext(message: str, **variables: Any) -> Markup:
        if not all(type(value) in MEMO_TYPES for value in variables.values()):
            return Markup(translate(message)) % variables  # e.g. markup: not escaped
        key = (message, *variables.items())
        if key not in memo:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[key] = Markup(translate(message)) % variables
        return memo[key]

    return gettext


MEMO_TYPES = frozenset({str, int})
MEMO_SIZE = 4096


def render_all(renderer: Renderer, jobs: Sequence[Job], workers: int,
               deliver: Callable[[Job, bytes], R], progress: Progress | None = None,
               meanwhile: Callable[[], None] | None = None,
               later: Later[Job] | None = None) -> tuple[list[R], list[Problem]]:
    """Render every job and hand its bytes to ``deliver`` (in the worker process, so
    the bytes need not travel back), in worker processes when there are enough jobs
    to pay for it; ``meanwhile`` is work for this process while they render, ``later``
    jobs planned meanwhile (``parallel.Later``), rendered after them."""
    results = parallel_map(partial(_render_one, renderer, deliver), jobs, workers,
                           PARALLEL_THRESHOLD, progress, meanwhile, later)
    delivered = [item for item in results if not isinstance(item, Problem)]
    problems = [item for item in results if isinstance(item, Problem)]
    return delivered, problems


def _render_one(renderer: Renderer, deliver: Callable[[Job, bytes], R],
                job: Job) -> R | Problem:
    try:
        data = renderer.render(job)
    except ImageError as exc:  # name the image, not the output that shows it
        root = renderer.config.root
        shown = exc.source.relative_to(root) if exc.source.is_relative_to(root) else exc.source
        return error(shown, None, exc.reason)
    except Exception as exc:  # every failure becomes a reported problem
        return template_problem(renderer.templates, job, exc)
    try:
        return deliver(job, data)
    except OSError as exc:
        return error(None, None, f"cannot write {job.path}: {exc.strerror or exc}")


def template_problem(templates: Sequence[Path], job: Job, exc: Exception) -> Problem:
    """Name the template file and line that failed (in whichever theme layer it is), not
    the generator's code."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = Path(exc.filename) if exc.filename else \
            _template_file(templates, exc.name or job.template)
        return error(where, exc.lineno, f"template syntax error: {exc.message}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return error(_template_file(templates, job.template), None,
                     f"template not found: {exc.name} (needed for {job.path})")
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if any(f.filename.startswith(str(folder)) for folder in templates)]
    if frames:
        frame = frames[-1]
        return error(Path(frame.filename), frame.lineno,
                     f"{type(exc).__name__}: {exc} (rendering {job.path})")
    return error(_template_file(templates, job.template) if job.template else None, None,
                 f"{type(exc).__name__}: {exc} (rendering {job.path})")


def _template_file(templates: Sequence[Path], name: str) -> Path | None:
    """The file a template name stands for: the first layer's that has it."""
    found = next((folder / name for folder in templates if (folder / name).is_file()), None)
    return found or (templates[0] / name if templates else None)
