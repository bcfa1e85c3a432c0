"""Type stubs of the native module textreuse._textreuse (Rust, PyO3). Public names are re-exported by textreuse."""

from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

class DocumentError(ValueError):
    """A document that cannot be added: empty text, no letters/digits/CJK characters, or a duplicate id."""

class Normalized:
    """A normalized text and its map back to the original text."""

    text: str
    """The normalized text."""
    offsets: List[int]
    """For each character of ``text``, the code point offset in the original text of the character it came from."""
    original_len: int
    """Length of the original text in code points."""
    def original_span(self, start: int, end: int) -> Optional[Tuple[int, int]]:
        """Original code point span ``(start, end)`` of normalized characters ``[start, end)``; None when empty."""
    def __len__(self) -> int: ...

def normalize(
    text: str,
    *,
    nfkc: bool = True,
    fold_width: bool = True,
    lowercase: bool = True,
    strip_punctuation: bool = True,
    strip_whitespace: bool = True,
    t2s: bool = True,
) -> Normalized:
    """NFKC, CJK punctuation folding, lower-casing, punctuation and whitespace removal (column line breaks vanish),
    traditional → simplified Chinese; with an offset map back to ``text`` (code points)."""

class MinHash:
    """A MinHash signature over textreuse's shingles (normalized text; ``ngram`` units from a CJK character,
    ``word_ngram`` from two words in a row, as ``dedup`` cuts them), one-permutation hashing with optimal
    densification; datasketch-like verbs."""

    def __init__(
        self,
        text: Optional[str] = None,
        *,
        num_perm: int = 128,
        seed: int = 42,
        ngram: int = 4,
        word_ngram: int = 2,
        nfkc: bool = True,
        fold_width: bool = True,
        lowercase: bool = True,
        strip_punctuation: bool = True,
        strip_whitespace: bool = True,
        t2s: bool = True,
    ) -> None: ...
    def update(self, text: Union[str, bytes]) -> None:
        """Adds the shingles of ``text`` (bytes are decoded as UTF-8)."""
    def update_batch(self, texts: List[str]) -> None:
        """Adds the shingles of every text (GIL released)."""
    def update_tokens(self, tokens: Iterable[Union[str, bytes]]) -> None:
        """Adds tokens as they are (datasketch's ``update`` for many tokens): each is hashed (seeded XXH3) and joins
        the set; no normalization or shingling."""
    @staticmethod
    def bulk_tokens(token_lists: Iterable[Iterable[Union[str, bytes]]], *, num_perm: int = 128, seed: int = 42,
                    threads: Optional[int] = None) -> List["MinHash"]:
        """One MinHash per list of tokens, computed in parallel with the GIL released."""
    @staticmethod
    def bulk(texts: Iterable[str], *, num_perm: int = 128, seed: int = 42, ngram: int = 4, word_ngram: int = 2,
             threads: Optional[int] = None, **normalization: bool) -> List["MinHash"]:
        """One MinHash per text, computed in parallel with the GIL released."""
    def jaccard(self, other: "MinHash") -> float:
        """Estimated Jaccard similarity: the fraction of equal signature values."""
    def exact_jaccard(self, other: "MinHash") -> float:
        """Exact Jaccard similarity of the shingle sets."""
    def merge(self, other: "MinHash") -> None:
        """Adds the other MinHash's shingles (set union)."""
    def digest(self) -> List[int]:
        """The signature: ``num_perm`` unsigned 64-bit values."""
    @property
    def hashvalues(self) -> List[int]:
        """The signature, as ``digest()``."""
    @property
    def num_perm(self) -> int: ...
    def count(self) -> int:
        """Distinct shingles added."""
    def is_empty(self) -> bool: ...
    def copy(self) -> "MinHash": ...
    def __len__(self) -> int: ...

class LSH:
    """An LSH index of MinHash signatures (datasketch's MinHashLSH verbs: insert, query, remove, in, len)."""

    def __init__(self, threshold: float = 0.5, num_perm: int = 128, weights: Tuple[float, float] = (0.5, 0.5)) -> None: ...
    @property
    def params(self) -> Tuple[int, int]:
        """(bands, rows)."""
    def insert(self, key: Any, minhash: MinHash) -> None:
        """Inserts ``minhash`` under a hashable ``key``; ValueError if the key is already there."""
    def query(self, minhash: MinHash) -> List[Any]:
        """Keys whose MinHash shares a band bucket with ``minhash``."""
    def remove(self, key: Any) -> None:
        """Removes ``key``; KeyError if absent."""
    def __contains__(self, key: Any) -> bool: ...
    def __len__(self) -> int: ...

class Alignment:
    """One passage two texts share: half-open code point spans in each."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    score: float
    """Matched units minus gap penalties."""
    matches: int
    """Units matched one to one."""
    kind: str
    """How the passage was found: "verbatim" or "rewritten"."""
    similarity: float
    """How alike the two sides are, in [0, 1]."""

def align(
    a: str,
    b: str,
    *,
    ngram: int = 7,
    max_df: int = 50,
    min_anchors: int = 3,
    max_gap: int = 200,
    max_indel: int = 30,
    min_length: int = 30,
    min_short: int = 20,
    max_repeat: int = 8,
    min_identity: float = 0.5,
    seed: int = 42,
    rewritten: bool = False,
    **normalization: bool,
) -> List[Alignment]:
    """The passages ``a`` and ``b`` share, in order of their start in ``a``."""

def strip_repeats(text: str, *, min_length: int = 50, **normalization: bool) -> str:
    """``text`` without the later copies of its repeated lines, paragraphs and passages."""

class NativeDeduper:
    def __init__(self, **options: Any) -> None: ...
    def add(self, id: str, text: str) -> int: ...
    def add_batch(self, ids: List[str], texts: List[str]) -> List[Optional[str]]: ...
    def finish(self) -> Dict[str, Any]: ...
    def __len__(self) -> int: ...

class NativePassageIndex:
    def __init__(self, **options: Any) -> None: ...
    def add_batch(self, ids: List[str], texts: List[str]) -> List[Optional[str]]: ...
    def run(self) -> Dict[str, Any]: ...

def repeats_json(text: str, **options: Any) -> str: ...
def run_dedup_json(inputs: List[str], out_dir: str, **options: Any) -> str: ...
def run_passages_json(inputs: List[str], out_dir: str, **options: Any) -> str: ...
def index_create_json(dir: str, inputs: List[str], **options: Any) -> str: ...
def index_add_json(dir: str, inputs: List[str], **options: Any) -> str: ...
def index_add_documents_json(dir: str, ids: List[str], texts: List[str]) -> str: ...
def index_query_documents_json(dir: str, ids: List[str], texts: List[str]) -> str: ...
def index_query_json(dir: str, inputs: List[str], out_dir: str, **options: Any) -> str: ...
def index_compact_json(dir: str) -> str: ...
def index_delete_json(dir: str, ids: List[str]) -> str: ...
def index_info_json(dir: str) -> str: ...
