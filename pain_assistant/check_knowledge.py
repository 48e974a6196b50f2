"""`make check-knowledge`: validate the knowledge, red-flag and regions files; say what is wrong."""

from __future__ import annotations

import sys

from pain_assistant import knowledge, red_flags
from pain_assistant.validation import KnowledgeError, read_yaml


def main(argv: list[str]) -> int:
    path = argv[0] if argv else knowledge.knowledge_path()
    try:
        base = knowledge.load(path)
        regions = list(read_yaml(red_flags.DEFAULT_REGIONS_FILE))
        # Every region must fill every reply: render them all, keep one to count the flags.
        detectors = [red_flags.load(region=region) for region in regions]
    except KnowledgeError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{path}: OK, {len(base.topics)} topics and {len(base.medicines)} medicines")
    print(f"{red_flags.DEFAULT_RED_FLAGS_FILE}: OK, {len(detectors[0].flags)} red flags, replies for {', '.join(regions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
