"""`make check-knowledge`: validate the knowledge file and say what is wrong, entry by entry."""

from __future__ import annotations

import sys

from pain_assistant import knowledge


def main(argv: list[str]) -> int:
    path = argv[0] if argv else knowledge.knowledge_path()
    try:
        base = knowledge.load(path)
    except knowledge.KnowledgeError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{path}: OK, {len(base.topics)} topics and {len(base.medicines)} medicines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
