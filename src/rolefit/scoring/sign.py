"""``python -m rolefit.scoring.sign sign <bundle>``: check a bundle's checksums, then sign it."""

from __future__ import annotations

import sys

from rolefit.scoring.bundle import BundleError, sign_bundle
from rolefit.scoring.signing import SignatureError


def main(argv: list[str] | None = None) -> int:
    """``python -m rolefit.scoring.sign sign <bundle>``: check a bundle's checksums, then sign it."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "sign":
        print("usage: python -m rolefit.scoring.sign sign <bundle folder>", file=sys.stderr)
        return 2
    try:
        key = sign_bundle(args[1])
    except (BundleError, SignatureError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(f"signed {args[1]} with the key from {key.source} (key id {key.key_id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
