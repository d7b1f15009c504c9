"""Solving the captcha's text alternative as a person hearing it would: the question's Persian
number words read back into numbers, then added or subtracted. Nothing here knows the service's
secret; it reads only what the page shows."""

from __future__ import annotations

import re

WORDS = {
    "صفر": 0, "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "هفت": 7, "هشت": 8, "نه": 9,
    "ده": 10, "یازده": 11, "دوازده": 12, "سیزده": 13, "چهارده": 14, "پانزده": 15, "شانزده": 16,
    "هفده": 17, "هجده": 18, "نوزده": 19, "بیست": 20, "سی": 30, "چهل": 40, "پنجاه": 50, "شصت": 60,
    "هفتاد": 70, "هشتاد": 80, "نود": 90, "صد": 100, "دویست": 200,
}  # fmt: skip


def number_of(words: str) -> int:
    """«چهل و هفت» → 47."""
    return sum(WORDS[word] for word in words.strip().split(" و "))


def answer_to(question: str) -> str:
    """The answer, in digits, to «… به علاوه …» or «… منهای …» (quotes and «حاصل» ignored)."""
    text = re.sub(r"[«»؟]|حاصل|چند می‌شود", "", question).strip()
    if " به علاوه " in text:
        first, second = text.split(" به علاوه ")
        return str(number_of(first) + number_of(second))
    first, second = text.split(" منهای ")
    return str(number_of(first) - number_of(second))
