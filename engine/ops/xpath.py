"""Parses the XPath subset that Datumaro users write for filters into a small syntax tree.

The grammar covers paths with predicates, comparisons, `and`/`or`, literals and function calls.
Valid XPath outside it raises `Unsupported` (the caller then hands the expression to lxml); text
that is no XPath at all raises `FilterError` showing the expression and the column where it failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn

from engine.errors import FilterError


class Unsupported(Exception):
    """Internal: valid XPath that the vectorised evaluator does not handle (lxml will)."""

    def __init__(self, reason: str, column: int = 1) -> None:
        super().__init__(reason)
        self.column = column


# -- syntax tree ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    value: str | float


@dataclass(frozen=True)
class Step:
    name: str
    predicates: tuple[object, ...]
    column: int


@dataclass(frozen=True)
class Path:
    absolute: bool
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[object, ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[object, ...]
    column: int


COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"[^"]*"|'[^']*')
    | (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<op>//|::|!=|<=|>=|\.\.|[/\[\](),=<>@.*|+\-$])
    | (?P<name>[A-Za-z_][\w.\-]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # string | number | op | name | end
    text: str
    column: int


def tokenize(expression: str) -> list[_Token]:
    """Splits an expression into tokens; raises FilterError on a character XPath does not use."""
    tokens = []
    position = 0
    while True:
        while position < len(expression) and expression[position].isspace():
            position += 1
        if position >= len(expression):
            break
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            char = expression[position]
            if char in "\"'":
                raise FilterError(expression, position + 1, f"string opened with {char} never ends")
            raise FilterError(expression, position + 1, f"unexpected character {char!r}")
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        start = match.start(kind)
        tokens.append(_Token(kind, match.group(kind), start + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(expression) + 1))
    return tokens


#: the deepest nesting of brackets and predicates a filter may have (the parser, the evaluator
#: and lxml all recurse on it; real filters nest a few levels)
MAX_NESTING = 100


def parse(expression: str) -> object:
    """The syntax tree of `expression`: FilterError if malformed, Unsupported beyond the subset."""
    if not expression.strip():
        raise FilterError(expression, 1, "the expression is empty")
    tokens = tokenize(expression)
    _check_nesting(expression, tokens)
    return _Parser(expression, tokens).parse()


def _check_nesting(expression: str, tokens: list[_Token]) -> None:
    """FilterError at the first bracket nested deeper than MAX_NESTING, before any recursion."""
    depth = 0
    for token in tokens:
        if token.kind == "op" and token.text in ("(", "["):
            depth += 1
            if depth > MAX_NESTING:
                raise FilterError(
                    expression,
                    token.column,
                    f"brackets and predicates nested more than {MAX_NESTING} deep",
                )
        elif token.kind == "op" and token.text in (")", "]"):
            depth -= 1


class _Parser:
    def __init__(self, expression: str, tokens: list[_Token] | None = None) -> None:
        self.expression = expression
        self.tokens = tokenize(expression) if tokens is None else tokens
        self.index = 0

    # -- token helpers
    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def _is(self, kind: str, text: str | None = None) -> bool:
        token = self.token
        return token.kind == kind and (text is None or token.text == text)

    def _take(self) -> _Token:
        token = self.token
        self.index += 1
        return token

    def _expect(self, text: str, why: str) -> None:
        if not self._is("op", text):
            self._fail(f"expected {text!r} {why}, found {self._describe()}")
        self._take()

    def _describe(self, token: _Token | None = None) -> str:
        token = token or self.token
        return "the end of the expression" if token.kind == "end" else repr(token.text)

    def _fail(self, reason: str, token: _Token | None = None) -> NoReturn:
        raise FilterError(self.expression, (token or self.token).column, reason)

    # -- grammar
    def parse(self) -> object:
        tree = self.or_expr()
        if not self._is("end"):
            if self._is("op") and self.token.text in ("|", "+", "-", "*", "$", "::"):
                raise Unsupported(f"operator {self.token.text!r}", self.token.column)
            self._fail(f"unexpected {self._describe()} after a complete expression")
        return tree

    def or_expr(self) -> object:
        operands = [self.and_expr()]
        while self._is("name", "or"):
            self._take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def and_expr(self) -> object:
        operands = [self.comparison()]
        while self._is("name", "and"):
            self._take()
            operands.append(self.comparison())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def comparison(self) -> object:
        left = self.primary()
        if self._is("op") and self.token.text in COMPARISONS:
            op = self._take().text
            right = self.primary()
            if self._is("op") and self.token.text in COMPARISONS:
                raise Unsupported("chained comparison", self.token.column)
            return Compare(op, left, right)
        return left

    def primary(self) -> object:
        token = self.token
        if token.kind == "string":
            self._take()
            return Literal(token.text[1:-1])
        if token.kind == "number":
            self._take()
            return Literal(float(token.text))
        if self._is("op", "("):
            self._take()
            inner = self.or_expr()
            self._expect(")", "to close '('")
            return inner
        if token.kind == "name" and self.tokens[self.index + 1].text == "(":
            return self.call()
        if token.kind == "name" or (token.kind == "op" and token.text in ("/", ".", "..")):
            return self.path()
        if token.kind == "op" and token.text in ("//", "@", "*", "-", "$"):
            raise Unsupported(f"{token.text!r}", token.column)
        self._fail(f"expected a path, a value or a function, found {self._describe()}")

    def call(self) -> Call:
        name = self._take()
        self._take()  # "("
        args = []
        if not self._is("op", ")"):
            args.append(self.or_expr())
            while self._is("op", ","):
                self._take()
                args.append(self.or_expr())
        self._expect(")", f"to close {name.text}(")
        return Call(name.text, tuple(args), name.column)

    def path(self) -> Path:
        absolute = False
        if self._is("op", "/"):
            self._take()
            absolute = True
        steps = [self.step()]
        while self._is("op", "/") or self._is("op", "//"):
            if self.token.text == "//":
                raise Unsupported("'//'", self.token.column)
            self._take()
            steps.append(self.step())
        return Path(absolute, tuple(steps))

    def step(self) -> Step:
        token = self.token
        if token.kind == "op" and token.text in (".", ".."):
            self._take()
            return Step(token.text, (), token.column)
        if token.kind == "op" and token.text in ("@", "*", "//"):
            raise Unsupported(f"{token.text!r}", token.column)
        if token.kind != "name":
            self._fail(f"expected an element name, found {self._describe()}")
        self._take()
        if self._is("op", "::"):
            raise Unsupported("axes", self.token.column)
        predicates = []
        while self._is("op", "["):
            opening = self._take()
            if self._is("op", "]"):
                self._fail("empty predicate '[]'")
            predicates.append(self.or_expr())
            if not self._is("op", "]"):
                self._fail(
                    f"expected ']' to close the '[' at column {opening.column}, "
                    f"found {self._describe()}"
                )
            self._take()
        return Step(token.text, tuple(predicates), token.column)
