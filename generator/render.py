"""Render phase: jobs become bytes, with one Jinja2 environment per language.

A job carries everything its template needs in its context; templates never
reach for data behind the engine's back, which is what makes the output
deterministic and lets renders run in parallel worker processes.
"""

from __future__ import annotations

import collections
import hmac
import json
import keyword
import os
import traceback
import weakref
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import BuiltinFunctionType, FunctionType
from typing import Any, TypeVar

import jinja2
import jinja2.runtime
import jinja2.utils
import markupsafe
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, CompilerExit, Frame, optimizeconst
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
COMPILED_VERSION = 11  # bump when what templates compile to changes (11: closed memos)
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
        env.globals["ngettext"] = _memoised_ngettext(translations.ngettext)
        digits = self.config.language(code).digits
        env.filters["date"] = lambda value, style="long": i18n.localised_date(
            value, code, style, digits)
        env.filters["datetime"] = lambda value, style="long": i18n.localised_datetime(
            value, code, style, digits)
        env.filters["number"] = lambda value: i18n.localised_number(value, code, digits)
        env.filters["inline_script"] = csp.inline_script  # allowed by its hash (csp.py)
        env.policies["json.dumps_function"] = _json_dumps  # |tojson (structured data)
        env.filters["tojson"] = _tojson
        env.globals["script_hashes"] = csp.script_hashes
        env.filters.update(self.filters)
        env.pure_filters = PURE_FILTERS - set(self.filters)  # a site's own may not be pure
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
        template = self.template(job.lang, job.template)
        scripts, started = csp.start()  # (not ``csp.collecting()``: a generator per page)
        try:
            data = _rendered(template, context)
        finally:
            csp.stop(started)
        return csp.complete_encoded(data, scripts)

    def template(self, lang: str | None, name: str) -> jinja2.Template:
        """A compiled template, looked up once per language (Jinja's own cache locks
        and reorders on every lookup)."""
        key = (lang, name)
        if key not in self._templates:
            self._templates[key] = self.environment(lang).get_template(name)
        return self._templates[key]


def _rendered(template: jinja2.Template, context: Mapping[str, Any]) -> bytes:
    """``template.render(context)`` in UTF-8, with one copy of the context, not two
    (``render`` copies it into a dict, then into another holding the globals too), and
    its pieces encoded one by one: most are ASCII, copied as they are, where the page
    joined into one string is encoded character by character as soon as one of its
    pieces holds a character beyond Latin-1 (a language's name in its own script, in
    every page's footer): a tenth of an article's render."""
    made = template.new_context(context)  # type: ignore[arg-type]
    try:
        return b"".join(map(ENCODED, template.root_render_func(made)))  # type: ignore[attr-defined]
    except Exception:
        template.environment.handle_exception()
        raise  # (handle_exception raises; for the type checker)


ENCODED: Callable[[str], bytes] = str.encode  # (UTF-8)


SORTED_JSON = json.JSONEncoder(sort_keys=True)


def _sorted_json_encoder() -> Callable[[Any], str]:
    """``SORTED_JSON.encode`` with the C encoder it makes for each call made once (with
    a function and the encoder made in Python each time: a third of an article's JSON-LD),
    where this Python's C encoder is found to take the arguments it is given here."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return SORTED_JSON.encode
    try:  # (markers None: no check for circular values; ours are made from views)
        encoder = make(None, SORTED_JSON.default, json.encoder.encode_basestring_ascii, None,
                       SORTED_JSON.key_separator, SORTED_JSON.item_separator, True, False, True)
        probe = {"b": [1, 2.5, "é<\u2028", True, None, {"z": 1, "a": ()}], "a": {}}
        if "".join(encoder(probe, 0)) != SORTED_JSON.encode(probe):
            return SORTED_JSON.encode
    except (TypeError, ValueError):
        return SORTED_JSON.encode

    def encode(value: Any) -> str:
        if type(value) is not dict:  # (a string or a number: as ``encode`` writes it)
            return SORTED_JSON.encode(value)
        return "".join(encoder(value, 0))

    return encode


SORTED_JSON_ENCODE = _sorted_json_encoder()


def _json_dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` for ``|tojson``: with Jinja's options (``sort_keys``) through one
    encoder, where ``json.dumps`` makes a new encoder for every article's JSON-LD."""
    if options == {"sort_keys": True}:
        return SORTED_JSON_ENCODE(value)
    return json.dumps(value, **options)


def _tojson(value: Any, indent: int | None = None) -> Markup:
    """Jinja's ``|tojson`` (keys sorted, ``<``, ``>``, ``&`` and ``'`` escaped so the
    JSON is safe in HTML and in a script element) in one call, not three: an article's
    JSON-LD goes through it."""
    if indent is not None:
        return jinja2.utils.htmlsafe_json_dumps(value, dumps=_json_dumps, sort_keys=True,
                                                indent=indent)
    text = SORTED_JSON_ENCODE(value)
    for char, escaped in JSON_ESCAPES:
        if char in text:  # (a test in C, where ``replace`` counts character by character)
            text = text.replace(char, escaped)
    return Markup(text)


JSON_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"))


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
    """A template whose compiled code escapes its output with ``_escaped`` (text with
    markupsafe's C escaper), and that says whether an ``{% include %}`` of it may run
    in its includer's context (``_shares_context``)."""

    shares_context = False

    @classmethod
    def _from_namespace(cls, environment: jinja2.Environment, namespace: Any,
                        globals: Any) -> jinja2.Template:
        if "escape" in namespace:
            namespace["escape"] = _escaped
        namespace["escape_text"] = ESCAPE_TEXT
        namespace["markup_type"] = Markup  # (_CodeGenerator._output_child_post)
        namespace["direct_gettext"] = environment.globals.get("gettext")  # (_CodeGenerator)
        namespace["builtin_method"] = BuiltinFunctionType
        namespace["context_names"] = _Names  # (_CodeGenerator.write_commons)
        template = super()._from_namespace(environment, namespace, globals)  # type: ignore[misc]
        template.shares_context = namespace.get("shares_context", False)
        return template

    def new_context(self, vars: dict[str, Any] | None = None, shared: bool = False,
                    locals: Mapping[str, Any] | None = None) -> jinja2.runtime.Context:
        """Jinja's context for a render, its names (globals, then ``vars``) held in a
        ``_Names``."""
        if shared or locals:
            return super().new_context(vars, shared, locals)
        return self.environment.context_class(
            self.environment, _Names(self.globals, **(vars or {})), self.name, self.blocks,
            globals=self.globals)


class _Names(dict):  # type: ignore[type-arg]
    """A context's names (its ``parent``), ``missing`` for one it lacks: what Jinja's
    ``Context.resolve_or_missing`` finds, when the context set nothing itself, by a
    lookup in C (``_CodeGenerator.write_commons``): ~40 names a page."""

    __slots__ = ()

    def __missing__(self, key: str) -> Any:
        return jinja2.runtime.missing


class _CodeGenerator(CodeGenerator):
    """Compiles ``obj.name`` to the built-in ``getattr`` (a C call), falling back to
    Jinja's own lookup (items, then undefined) only when the attribute is missing:
    the same value, without a Python-level call for each of the ~150 lookups a page
    makes. Runs of a template that read only values shared by many renders are
    remembered (``Fragments``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fragments = 0  # memos declared at the module's end
        self._in_fragment = False
        self._template: nodes.Template | None = None
        self._assigned: set[str] | None = None
        self._loaded: collections.Counter[str] | None = None
        self.pure: dict[int, bool] = {}  # by node id (``_pure``)
        self._escapes: list[str] = []  # the temporaries of the values being escaped

    def writeline(self, x: str, node: nodes.Node | None = None, extra: int = 0) -> None:
        """A block's output is joined where it is made and handed up as one piece
        (``yield concat(…)``, not ``yield from``): each piece passed up through every
        function around it (an article's main block's through the block, its layout and
        the article's own template). (A layout's pieces still go up one by one: a render
        encodes them one by one, ``_rendered``.)"""
        if x.startswith(DELEGATIONS) and not self.environment.is_async:
            x = f"yield concat({x.removeprefix('yield from ')})"
        super().writeline(x, node, extra)

    def write_commons(self) -> None:
        """Each render and block function's preamble, with ``resolve`` the names'
        ``__getitem__`` where it finds what ``resolve_or_missing`` does: the context has
        set nothing itself yet (``vars``), and the names a function resolves are none
        that it sets (Jinja binds those to locals)."""
        super().write_commons()
        if self.environment.is_async:
            return
        self.writeline("if type(context.parent) is context_names and not context.vars:")
        self.indent()
        self.writeline("resolve = context.parent.__getitem__")
        self.outdent()

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        self._template = node
        super().visit_Template(node, frame)
        self.writeline(f"shares_context = {_shares_context(node)}")
        if self.fragments:
            self.writeline("from generator.render import Fragments")
        for number in range(1, self.fragments + 1):
            self.writeline(f"fragment_{number} = Fragments()")

    def blockvisit(self, body: Any, frame: Frame) -> None:
        """A body's statements, each run of them that ``_fragments`` finds worth
        remembering written through its memo."""
        runs = _fragments(list(body), frame, self) if self._remembering(frame) else None
        if not runs:
            super().blockvisit(body, frame)
            return
        try:
            self.writeline("pass")
            for run in runs:
                if isinstance(run, _Run):
                    self._remembered(run, frame)
                else:
                    self.visit(run, frame)
        except CompilerExit:
            pass

    def assigned_names(self) -> set[str]:
        """Every name the template binds (``_assigned``)."""
        if self._assigned is None:
            self._assigned = _assigned(self._template) if self._template else set()
        return self._assigned

    def loaded_names(self) -> collections.Counter[str]:
        """How often the template reads each name."""
        if self._loaded is None:
            self._loaded = collections.Counter(
                node.name for node in (self._template.find_all(nodes.Name)
                                       if self._template else ()) if node.ctx == "load")
        return self._loaded

    def _remembering(self, frame: Frame) -> bool:
        return not (self._in_fragment or self.environment.is_async or frame.buffer is not None
                    or frame.require_output_check or frame.eval_ctx.volatile
                    or (frame.toplevel and self.has_known_extends))

    def _remembered(self, run: _Run, frame: Frame) -> None:
        """``run``'s output looked up by the values of the names it reads (as they are
        when it starts), made and kept when not found; once the memo has given up
        (``Fragments.open``), made each time without asking it (two Python calls less
        for each share link and language link of a page)."""
        self.fragments += 1
        memo = f"fragment_{self.fragments}"
        values, key, text, buffer = (self.temporary_identifier() for _ in range(4))
        self.writeline(f"if {memo}.open:")
        self.indent()
        self.writeline(f"{values} = (")
        for name in run.names:
            ref = frame.symbols.find_ref(name)
            self.write(f"{ref}, " if ref is not None else f"context.resolve_or_missing({name!r}), ")
        self.write(")")
        self.writeline(f"{key}, {text} = {memo}.recall({values})")
        self.outdent()
        self.writeline("else:")
        self.indent()
        self.writeline(f"{values} = {key} = {text} = None")
        self.outdent()
        self.writeline(f"if {text} is None:")
        self.indent()
        inner = frame.copy()
        inner.buffer = buffer
        self.writeline(f"{buffer} = []")
        self._in_fragment = True
        try:
            for statement in run.statements:
                self.visit(statement, inner)
        finally:
            self._in_fragment = False
        self.writeline(f"{text} = {memo}.keep({key}, {values}, concat({buffer})) "
                       f"if {key} is not None else concat({buffer})")
        self.outdent()
        self.simple_write(text, frame)

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

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        """A value written under autoescape is escaped in C when it is text (most are):
        ``_escaped`` is a Python call for each of ~100 values a page writes."""
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape or \
                finalize.src is not None:
            self._escapes.append("")
            super()._output_child_pre(node, frame, finalize)
            return
        value, kind = self.temporary_identifier(), self.temporary_identifier()
        self._escapes.append(f"{value} {kind}")
        self.write(f"(escape_text({value}) if ({kind} := type({value} := ")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        """(Markup, such as a translation or a filter's output, is written as it is,
        without a Python call to ask it for its HTML: ~10 values a page.)"""
        names = self._escapes.pop()
        if not names:
            super()._output_child_post(node, frame, finalize)
            return
        value, kind = names.split()
        self.write(f")) is str else {value} if {kind} is markup_type else escape({value}))")

    @optimizeconst
    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        """A call of the environment's ``_``/``gettext`` or of a C method named in
        ``PURE_METHODS`` (``page.date.isoformat()``) is made directly once the callee is
        found to be one: ``Context.call``, a Python call, looks for markers neither has
        (the share links' labels, five an article). Anything else goes through it."""
        direct = self._direct_test(node)
        if direct is None or forward_caller or self.environment.is_async or \
                self.environment.sandboxed:
            super().visit_Call(node, frame, forward_caller=forward_caller)
            return
        callee = self.temporary_identifier()
        self.write(f"({callee}(")
        for argument in (*node.args, *node.kwargs):
            self.visit(argument, frame)
            self.write(", ")
        self.write(f") if {direct[0]}({callee} := ")
        self.visit(node.node, frame)
        self.write(f"){direct[1]} else context.call({callee}")
        extra = {"_loop_vars": "_loop_vars"} if frame.loop_frame else {}
        if frame.block_frame:
            extra["_block_vars"] = "_block_vars"
        self.signature(node, frame, extra or None)
        self.write("))")

    def _direct_test(self, node: nodes.Call) -> tuple[str, str] | None:
        """What goes before and after the callee to test whether ``node`` may be called
        directly (None: never; only arguments Python takes as written)."""
        if node.dyn_args is not None or node.dyn_kwargs is not None or any(
                not kwarg.key.isidentifier() or keyword.iskeyword(kwarg.key)
                for kwarg in node.kwargs):
            return None
        if isinstance(node.node, nodes.Name) and node.node.name in TRANSLATION_CALLS and \
                node.node.name not in self.assigned_names():
            return "", " is direct_gettext"
        if isinstance(node.node, nodes.Getattr) and node.node.attr in PURE_METHODS:
            return "type", " is builtin_method"
        return None

    def visit_Include(self, node: nodes.Include, frame: Frame) -> None:
        """An ``{% include %}`` hands its template's output up joined, as one piece,
        instead of a Python loop yielding each piece again."""
        if node.ignore_missing or not node.with_context or frame.buffer is not None \
                or self.environment.is_async or not isinstance(node.template, nodes.Const) \
                or not isinstance(node.template.value, str):
            super().visit_Include(node, frame)
            return
        self.writeline("template = environment.get_template(", node)
        self.visit(node.template, frame)
        self.write(f", {self.name!r})")
        local = self.dump_local_context(frame)
        own = f"template.new_context(context.get_all(), True, {local})"
        if local == "{}" and not frame.eval_ctx.volatile:  # it would see what this one sees
            own = f"(context if template.shares_context else {own})"
        self.writeline(f"gen = template.root_render_func({own})")
        self.writeline("try:")
        self.indent()
        self.writeline("yield concat(gen)")  # (as ``writeline`` hands a block's up)
        self.outdent()
        self.writeline("finally: gen.close()")


# the call of a block, as Jinja writes it (``writeline``)
DELEGATIONS = ("yield from context.blocks[",)
FRAGMENTS_KEPT = 2048  # outputs one memo keeps (a worker's list items, most of them)
FRAGMENT_TRIAL = 256  # misses before a memo that is rarely asked again gives up


class Fragments:
    """What one run of a template wrote, by the values of the names it reads: a page's
    header and footer read values every page of its language shares, a list's story
    what its story's view holds (a story is listed on its home, section and tags).

    The run is written only where it reads nothing but names, constants, attributes,
    items, operators, tests, pure filters and translations (``_fragments``), so the
    same values make the same text; values are told apart by identity (a context's
    values are not changed once handed over: frozen views, shared per process), and
    each kept output holds its values, so no id is reused while it is kept. What a
    memo keeps is forgotten after each render phase (``forget_fragments``): a server's
    earlier sites, held by the values, are freed with it."""

    __slots__ = ("__weakref__", "found", "made", "missed", "open")

    def __init__(self) -> None:
        self.made: dict[tuple[int, ...], tuple[tuple[Any, ...], str]] = {}
        self.found = self.missed = 0
        self.open = True  # False once found too rarely to pay for itself
        _MEMOS.add(self)

    def recall(self, values: tuple[Any, ...]) -> tuple[tuple[int, ...] | None, str | None]:
        """The key of ``values`` and the text kept for it (None: to be made; a key
        of None: not to be kept)."""
        if not self.open:  # given up: made each time, as without a memo
            return None, None
        key = tuple(map(id, values))
        kept = self.made.get(key)
        if kept is not None:
            self.found += 1
            return key, kept[1]
        self.missed += 1
        if self.missed >= FRAGMENT_TRIAL and self.found * 8 < self.missed:
            self.open = False
            self.made.clear()
            return None, None
        return key, None

    def keep(self, key: tuple[int, ...] | None, values: tuple[Any, ...], text: str) -> str:
        if key is not None:
            if len(self.made) >= FRAGMENTS_KEPT:
                self.made.clear()
            self.made[key] = (values, text)
        return text


_MEMOS: weakref.WeakSet[Fragments] = weakref.WeakSet()  # every compiled template's


def forget_fragments() -> None:
    """Forget what every memo of this process keeps (its values belong to a site that a
    server's next build replaces)."""
    for memo in list(_MEMOS):
        memo.made.clear()


@dataclass(frozen=True, slots=True)
class _Run:
    """Statements written through one memo, and the names whose values key it."""

    statements: tuple[nodes.Node, ...]
    names: tuple[str, ...]


# context names a page's or a list's job sets for that output alone (views.base_context,
# outputs/pages.py, outputs/listings.py): a run reading one would never be found again
PER_OUTPUT = frozenset({"page_title", "description", "url", "canonical", "alternates",
                        "x_default", "share", "structured", "page", "noindex", "listing",
                        "tags", "script_sources"})
# names whose values change while a template runs, or stand for the template itself
UNKEYED = frozenset({"loop", "self", "super", "caller", "varargs", "kwargs"})
PURE_FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "date", "datetime",
    "default", "dictsort", "e", "escape", "filesizeformat", "first", "float", "format",
    "indent", "int", "items", "join", "last", "length", "list", "lower", "max", "min",
    "number", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select",
    "selectattr", "slice", "sort", "string", "striptags", "sum", "title", "tojson", "trim",
    "truncate", "unique", "upper", "urlencode", "wordcount", "wordwrap", "xmlattr"})
PURE_METHODS = frozenset({"isoformat", "strftime", "get", "items", "keys", "values", "lower",
                          "upper", "strip", "startswith", "endswith", "split", "replace"})
TRANSLATION_FUNCTIONS = frozenset({"_", "gettext", "ngettext", "pgettext", "npgettext"})
PURE_NODES = (nodes.Output, nodes.If, nodes.For, nodes.Assign, nodes.Name, nodes.Const,
              nodes.TemplateData, nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.Tuple,
              nodes.List, nodes.Dict, nodes.Pair, nodes.Keyword, nodes.CondExpr,
              nodes.BinExpr, nodes.UnaryExpr, nodes.Compare, nodes.Operand, nodes.Concat,
              nodes.MarkSafe, nodes.MarkSafeIfAutoescape, nodes.Filter, nodes.Test,
              nodes.Call)
WORTH_REMEMBERING = 4  # lookups, filters and calls (a loop counts for four) in a run


def _fragments(body: list[nodes.Node], frame: Frame,
               generator: _CodeGenerator) -> list[nodes.Node | _Run] | None:
    """``body`` with its runs of statements worth remembering grouped (None: none)."""
    grouped: list[nodes.Node | _Run] = []
    run: list[nodes.Node] = []
    found = False

    def close() -> None:
        nonlocal found
        made = _run(run, frame, generator) if run else None
        if made is None:
            grouped.extend(run)
        else:
            grouped.append(made)
            found = True
        run.clear()

    for node in body:
        if _shareable(node, generator):
            run.append(node)
        else:
            close()
            grouped.append(node)
    close()
    return grouped if found else None


def _shareable(node: nodes.Node, generator: _CodeGenerator) -> bool:
    """Whether a statement's output depends on the values of the names it reads alone,
    none of them set for one output only."""
    return isinstance(node, nodes.Output | nodes.If | nodes.For) and _pure(node, generator)


def _pure(node: nodes.Node, generator: _CodeGenerator) -> bool:
    """Whether ``node`` and all it holds are of the kinds a remembered run may hold
    (judged once a node: nested bodies ask again)."""
    known = generator.pure.get(id(node))
    if known is None:
        known = generator.pure[id(node)] = _pure_node(node, generator) and all(
            _pure(child, generator) for child in node.iter_child_nodes())
    return known


def _pure_node(node: nodes.Node, generator: _CodeGenerator) -> bool:
    if not isinstance(node, PURE_NODES):
        return False
    if isinstance(node, nodes.Name):
        return node.name not in PER_OUTPUT
    if isinstance(node, nodes.For):
        return not node.recursive
    if isinstance(node, nodes.Filter):
        return node.node is not None and node.name in generator.environment.pure_filters
    if isinstance(node, nodes.Call):
        return node.dyn_args is None and node.dyn_kwargs is None and (
            (isinstance(node.node, nodes.Name)
             and node.node.name in TRANSLATION_FUNCTIONS - generator.assigned_names())
            or (isinstance(node.node, nodes.Getattr) and node.node.attr in PURE_METHODS))
    if isinstance(node, nodes.Assign):
        return isinstance(node.target, nodes.Name)
    return True


def _run(statements: list[nodes.Node], frame: Frame, generator: _CodeGenerator) -> _Run | None:
    """The run of ``statements``, or None where it is not worth a memo or cannot have
    one: it reads a name bound to the running template, or sets one read elsewhere (a
    remembered run sets nothing) or at the top level (where the context exports it)."""
    weight = sum(4 if isinstance(node, nodes.For) else 1 for statement in statements
                 for node in statement.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter,
                                                 nodes.Call, nodes.For)))
    if weight < WORTH_REMEMBERING:
        return None
    read: dict[str, None] = {}
    stored: set[str] = set()
    for statement in statements:
        _names(statement, frame=set(), read=read, stored=stored)
    if read.keys() & UNKEYED:
        return None
    if stored:
        inside = collections.Counter(node.name for statement in statements
                                     for node in statement.find_all(nodes.Name)
                                     if node.ctx == "load")
        everywhere = generator.loaded_names()
        if frame.toplevel or any(everywhere[name] > inside[name] for name in stored):
            return None
    return _Run(tuple(statements), tuple(read))


def _names(node: nodes.Node, frame: set[str], read: dict[str, None], stored: set[str]) -> None:
    """The names ``node`` reads from outside (in order) and sets; a loop's own target
    and ``loop`` are bound inside it."""
    if isinstance(node, nodes.Name):
        if node.ctx == "load":
            if node.name not in frame:
                read[node.name] = None
        else:
            stored.add(node.name)
        return
    if isinstance(node, nodes.For):
        _names(node.iter, frame, read, stored)
        inner = frame | {name.name for name in node.target.find_all(nodes.Name)} | {"loop"}
        if isinstance(node.target, nodes.Name):
            inner.add(node.target.name)
        for child in (*node.body, *([node.test] if node.test else [])):
            _names(child, inner, read, stored)
        for child in node.else_:
            _names(child, frame, read, stored)
        return
    for child in node.iter_child_nodes():
        _names(child, frame, read, stored)


class _Context(jinja2.runtime.Context):
    """Calls a template makes of C functions and methods (``page.date.isoformat()``),
    macros and Python functions (plain, or taking the context or the evaluation context)
    are made directly: Jinja's ``Context.call`` looks for a ``pass_context`` marker on
    each callable and its ``__call__`` every time (a tenth of a list's render, a dozen
    calls per page)."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(__obj)
        if kind not in PLAIN_CALLABLES:
            return super().call(__obj, *args, **kwargs)
        if kind is FunctionType:  # a ``pass_context`` one as Jinja calls it (script_hashes)
            passed = getattr(__obj, "jinja_pass_arg", None)
            if passed is PASS_CONTEXT and not kwargs.get("_loop_vars") and \
                    not kwargs.get("_block_vars"):
                args = (__self, *args)
            elif passed is PASS_EVAL_CONTEXT:  # (ngettext)
                args = (__self.eval_ctx, *args)
            elif passed is not None:
                return super().call(__obj, *args, **kwargs)
        kwargs.pop("_loop_vars", None)
        kwargs.pop("_block_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:  # as Jinja does
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


# callables that never take Jinja's context: C functions (no attribute can mark them), a
# template's macros, Python functions without a ``pass_*`` marker (or with a marker
# ``_Context.call`` reads itself)
PLAIN_CALLABLES = frozenset({BuiltinFunctionType, jinja2.runtime.Macro, FunctionType})
PASS_CONTEXT = jinja2.utils._PassArg.context
PASS_EVAL_CONTEXT = jinja2.utils._PassArg.eval_context

TRANSLATION_CALLS = frozenset({"_", "gettext"})


class _Environment(jinja2.Environment):
    """One language's environment: ``_("text")`` and plain ``{% trans %}`` blocks are
    translated when the template is compiled, so pages carry them as constant text
    (the memoised runtime call gives the same string)."""

    template_class = _Template
    code_generator_class = _CodeGenerator
    context_class = _Context
    pure_filters: frozenset[str] = frozenset()  # filters a remembered run may use

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loaded: dict[str, jinja2.Template] = {}  # by name (``get_template``)

    def get_template(self, name: str | jinja2.Template, parent: str | None = None,
                     globals: MutableMapping[str, Any] | None = None) -> jinja2.Template:
        """Jinja's ``get_template`` behind a plain dict by name: each ``{% include %}``
        and ``{% extends %}`` looks its template up at every render (3 or 4 a page, each
        a weak reference and a key made in Python). A name is its own path here
        (``join_path`` is not overridden), and templates are not reloaded."""
        if globals is not None or type(name) is not str:
            return super().get_template(name, parent, globals)
        template = self.loaded.get(name)
        if template is None:
            template = self.loaded[name] = super().get_template(name, parent)
        return template

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


def _shares_context(tree: nodes.Template) -> bool:
    """Whether the template, included, may run in its includer's context rather than a
    new one holding the same values: it sets, defines, imports and extends nothing, has
    no blocks and does not name itself (what it would leave in a shared context)."""
    return tree.find((nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.Import,
                      nodes.FromImport, nodes.Extends, nodes.Block)) is None and \
        not any(name.name in ("self", "super") for name in tree.find_all(nodes.Name))


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
        for value in variables.values():
            if type(value) not in MEMO_TYPES:
                return Markup(translate(message)) % variables  # e.g. markup: not escaped
        key = (message, *variables.items())
        found = memo.get(key)  # (one lookup: five a page, the share links' labels)
        if found is None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            found = memo[key] = Markup(translate(message)) % variables
        return found

    return gettext


def _memoised_ngettext(translate: Callable[[str, str, int], str]) -> Callable[..., str]:
    """Jinja's newstyle ``ngettext`` (``{% trans count=… %}``), remembering results as
    ``_memoised_gettext`` does, and handed the evaluation context alone: Jinja's takes
    the template's context, which a call from a block that sets a variable copies
    into a new one first (a list's count of articles)."""
    memo: dict[tuple, str] = {}

    @jinja2.pass_eval_context
    def ngettext(eval_ctx: jinja2.nodes.EvalContext, singular: str, plural: str, num: int,
                 **variables: Any) -> str:
        variables.setdefault("num", num)
        autoescape = eval_ctx.autoescape
        if type(num) not in MEMO_TYPES or \
                not MEMO_TYPES.issuperset(map(type, variables.values())):
            return _plural(translate(singular, plural, num), autoescape, variables)
        key = (singular, plural, num, autoescape, *variables.items())
        if key not in memo:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[key] = _plural(translate(singular, plural, num), autoescape, variables)
        return memo[key]

    return ngettext


def _plural(text: str, autoescape: bool, variables: Mapping[str, Any]) -> str:
    """The translation as Jinja's ``ngettext`` formats it (always a %-format string)."""
    return (Markup(text) if autoescape else text) % variables


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
    try:
        results = parallel_map(partial(_render_one, renderer, deliver), jobs, workers,
                               PARALLEL_THRESHOLD, progress, meanwhile, later)
    finally:
        forget_fragments()
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
