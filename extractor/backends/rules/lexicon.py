"""The rules backend's vocabulary, read from a TOML file (data/lexicon.toml by default, or a
user's own with --lexicon): indicator synonyms, units, stage verbs, domain words.

The lexicon in use is carried by a context variable that the backend sets around each chunk, so
two runs with different lexicons can share a process and no module holds mutable state."""

from __future__ import annotations

import contextvars
import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

@dataclass(frozen=True)
class Lexicon:
    openers: tuple[str, ...]
    codes: dict[str, str]
    synonyms: tuple[str, ...]  # longest first
    pairs: dict[str, list[str]]
    units: tuple[str, ...]
    about: tuple[str, ...]
    at_least: tuple[str, ...]
    at_most: tuple[str, ...]
    not_values: tuple[str, ...]
    lead_words: tuple[str, ...]
    link_verbs: tuple[str, ...]
    review_verbs: tuple[tuple[str, str], ...]
    plan_verbs: tuple[tuple[str, str], ...]
    name_heads: tuple[str, ...]
    heads_at_end: frozenset[str]
    programme_words: tuple[str, ...]
    false_heads: tuple[str, ...]
    generic_modifiers: tuple[str, ...]
    not_names: tuple[str, ...]
    sectors: dict[str, list[str]]
    categories: dict[str, list[str]]
    target_fields: tuple[str, ...]
    list_markers: tuple[str, ...]

    @cached_property
    def value_pattern(self) -> re.Pattern[str]:
        """A number, an optional range or 多/余, and one of the lexicon's units, which 万 or 亿
        may scale (1.9万个, 1.3万套)."""
        units = "|".join(re.escape(u) for u in self.units)
        return re.compile(
            r"(?P<num>\d+(?:\.\d+)?)(?:\s*(?:%|)\s*(?P<sep>[-—–~～至到])\s*(?P<max>\d+(?:\.\d+)?))?"
            rf"\s*(?P<more>多|余)?\s*(?P<unit>(?:万|亿)?(?:{units}))")

    @cached_property
    def not_value_after(self) -> re.Pattern[str]:
        return _alternation(self.not_values)

    @cached_property
    def about_after(self) -> re.Pattern[str]:
        return _alternation(self.about)

    @cached_property
    def bound_after(self) -> re.Pattern[str]:
        """The words after a number that bound it (左右, 以上, 以内)."""
        return _alternation((*self.about, "以上", "及以上", "以内", "以下"))

    @cached_property
    def stage_verbs(self) -> dict[str, tuple[re.Pattern[str], dict[str, str]]]:
        """Per part ("review", "plan"): one search for its stage verbs, longest first (a search finds
        the earliest verb, and the longest of those that start there), and each verb's status."""
        return {part: (_alternation(verb for verb, _ in verbs), dict(reversed(verbs)))
                for part, verbs in (("review", self.review_verbs), ("plan", self.plan_verbs))}

    @cached_property
    def heads_ending(self) -> re.Pattern[str]:
        """Any facility head at the end of a text."""
        return _alternation(self.name_heads, "(?:{})$")

    @cached_property
    def heads_inside(self) -> re.Pattern[str]:
        """The heads that make a facility wherever they stand: longer than one character and not
        in heads_at_end."""
        return _alternation([h for h in self.name_heads if len(h) > 1 and h not in self.heads_at_end])

    @cached_property
    def kind_words(self) -> re.Pattern[str]:
        """One or more generic modifiers and nothing else (湿地, 公办, 供水…)."""
        return _alternation(self.generic_modifiers, "(?:{})+")

    @cached_property
    def not_name_words(self) -> re.Pattern[str]:
        return _alternation(self.not_names)

    @cached_property
    def programme_pattern(self) -> re.Pattern[str]:
        return _alternation(self.programme_words)


def first_group(text: str, groups: dict[str, list[str]]) -> str | None:
    """The first group (in the lexicon's order) that has a word in the text."""
    return next((name for name, words in groups.items() if any(w in text for w in words)), None)


def _alternation(words, template: str = "(?:{})") -> re.Pattern[str]:
    """One compiled search for any of the words (a never-matching one for none): the rules test
    thousands of phrases against each word list, which a loop over the words makes slow."""
    words = sorted(set(words), key=len, reverse=True)
    return re.compile(template.format("|".join(map(re.escape, words))) if words else r"(?!x)x")


DEFAULT_LEXICON = "data/lexicon.toml"
_active: contextvars.ContextVar[Lexicon] = contextvars.ContextVar("lexicon")


def lexicon() -> Lexicon:
    """The lexicon of the chunk being read: the one the backend set, else the shipped one."""
    return _active.get(None) or _shipped()


@lru_cache(maxsize=1)
def _shipped() -> Lexicon:
    return load_lexicon(None)


def use_lexicon(lex: Lexicon) -> contextvars.Token[Lexicon]:
    return _active.set(lex)


def reset_lexicon(token: contextvars.Token[Lexicon]) -> None:
    _active.reset(token)


def lexicon_hash(path: Path | None) -> str:
    """sha256 of a lexicon file's text: written to run.json beside the prompt hash."""
    return hashlib.sha256(lexicon_text(path).encode()).hexdigest()


def lexicon_text(path: Path | None) -> str:
    if path is None:
        return resources.files("extractor").joinpath(DEFAULT_LEXICON).read_text("utf-8")
    return Path(path).read_text(encoding="utf-8")


def load_lexicon(path: Path | None) -> Lexicon:
    """A lexicon file (None: the shipped one); raises ValueError naming what is wrong."""
    try:
        data = tomllib.loads(lexicon_text(path))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the lexicon ({exc})") from None
    try:
        return _build(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path or DEFAULT_LEXICON}: lexicon lacks or misshapes {exc}") from None


def _build(data: dict) -> Lexicon:
    t, n, g, p, c = data["targets"], data["numbers"], data["goals"], data["projects"], data["commitments"]
    categories = {k: v for k, v in c.items() if isinstance(v, list) and k not in {"target_fields", "list_markers"}}
    by_length = lambda words: tuple(sorted(words, key=len, reverse=True))  # noqa: E731
    return Lexicon(
        openers=tuple(t["passage_openers"]), codes=t["codes"], synonyms=by_length(t["codes"]),
        pairs=t["pairs"], units=by_length(n["units"]), about=tuple(n["about"]),
        at_least=by_length(n["at_least"]), at_most=by_length(n["at_most"]),
        not_values=tuple(n["not_values"]), lead_words=by_length(g["lead_words"]),
        link_verbs=by_length(g["link_verbs"]),
        review_verbs=tuple((v, s) for v, s in p["review"]), plan_verbs=tuple((v, s) for v, s in p["plan"]),
        name_heads=tuple(p["name_heads"]),
        heads_at_end=frozenset(p.get("heads_at_end", [])), programme_words=tuple(p.get("programme_words", [])),
        false_heads=tuple(p.get("false_heads", [])), generic_modifiers=tuple(p.get("generic_modifiers", [])),
        not_names=tuple(p["not_names"]), sectors=p["sectors"],
        categories=categories, target_fields=tuple(c["target_fields"]), list_markers=tuple(c["list_markers"]),
    )
