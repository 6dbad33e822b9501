"""Whether a debtor's reply asks us to stop: the STOP words of every language, compiled once.

A reply and each phrase are normalised alike: case folded, accents dropped, punctuation and
emoji read as spaces, spaces collapsed ("¡NO MÁS!" reads "no mas"). A phrase matched
`anywhere` opts out when its words appear together anywhere in the reply ("ya pagué, no me
escriban más"); one matched `alone` only when the reply says nothing else apart from
courtesy words ("Baja por favor", but not "la cuota más baja"). Words that also occur in
ordinary replies about a debt ("cancelar", "no más", "end") are seeded as `alone`.

The compiled matcher is kept per process and rebuilt when the words change: each use reads
the table's fingerprint (how many rows, the latest change), one cheap query, so a word
edited in the admin counts in every worker at once.
"""

import re
import threading
import unicodedata
from dataclasses import dataclass

from django.db.models import Count, Max

from debtors.models import StopMatch, StopWord

# Words a debtor adds around a STOP word without changing what it means.
COURTESY_WORDS = frozenset(
    {
        "please",
        "pls",
        "thanks",
        "thank",
        "you",
        "me",
        "now",
        "por",
        "favor",
        "gracias",
        "ya",
        "ahora",
        "ok",
        "obrigado",
        "obrigada",
        "agora",
    }
)
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", bare).strip()


@dataclass(frozen=True)
class StopMatcher:
    anywhere: re.Pattern[str] | None
    alone: frozenset[str]

    @classmethod
    def build(cls, phrases: list[tuple[str, str]]) -> "StopMatcher":
        """From (phrase, match) pairs; blank phrases are ignored."""
        anywhere = sorted(
            {normalise(p) for p, match in phrases if match == StopMatch.ANYWHERE} - {""},
            key=lambda phrase: (-len(phrase), phrase),
        )
        alone = frozenset(normalise(p) for p, match in phrases if match == StopMatch.ALONE)
        pattern = (
            re.compile(r"(?:^| )(?:" + "|".join(map(re.escape, anywhere)) + r")(?: |$)")
            if anywhere
            else None
        )
        return cls(anywhere=pattern, alone=alone - {""})

    def matches(self, text: str) -> bool:
        words = normalise(text)
        if not words:
            return False
        if self.anywhere is not None and self.anywhere.search(words):
            return True
        meant = " ".join(word for word in words.split(" ") if word not in COURTESY_WORDS)
        # "Stop please" and "please stop" alike; a reply of courtesy words alone is no STOP.
        return bool(meant) and meant in self.alone


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fingerprint: tuple[object, ...] | None = None
        self._matcher = StopMatcher.build([])

    def matcher(self) -> StopMatcher:
        enabled = StopWord.objects.filter(enabled=True)
        fingerprint = tuple(
            StopWord.objects.aggregate(rows=Count("id"), changed=Max("updated_at")).values()
        )
        with self._lock:
            if fingerprint != self._fingerprint:
                phrases = list(enabled.values_list("phrase", "match"))
                self._matcher = StopMatcher.build(phrases)
                self._fingerprint = fingerprint
            return self._matcher


_cache = _Cache()


def stop_matcher() -> StopMatcher:
    """The STOP words as they are now (one query; rebuilt only when they changed)."""
    return _cache.matcher()
