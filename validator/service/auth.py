"""Authentication of Scale's calls: the ``scale-callback-auth`` header against a set of keys, in constant time."""
from __future__ import annotations

import hashlib
import hmac


class KeySet:
    """Accepted callback keys. Comparison takes the same time whichever key matches, or none.

    Keys and candidates are hashed first so that comparisons are between equal-length digests (no length leak),
    and every configured key is compared (no early exit revealing which key matched).
    """

    def __init__(self, keys: tuple[str, ...]):
        self._digests = tuple(hashlib.sha256(k.encode("utf-8")).digest() for k in keys)

    def __len__(self) -> int:
        return len(self._digests)

    def accepts(self, candidate: str | None) -> bool:
        if candidate is None:
            return False
        d = hashlib.sha256(candidate.encode("utf-8", "surrogateescape")).digest()
        ok = False
        for key in self._digests:
            ok |= hmac.compare_digest(d, key)
        return ok

    def __repr__(self) -> str:  # never show keys
        return f"<KeySet of {len(self)} key(s)>"
