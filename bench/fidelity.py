"""Issue 15, every area in one run: what the corpus contains, measured on ../shared/data.

    python bench/fidelity.py [--run COPIES]

1. HTML extraction      bench/extraction.py --pipeline [--run COPIES]: F1 (precision, recall) of each extractor on
                        the Scrapinghub article-extraction pages, pages/s per core alone, in stages 1-6 and (with
                        --run) in a whole `corpus run`
2. language ID          bench/fidelity_langid.py: correctly identified documents the threshold drops, wrongly
                        identified ones it admits, before and after confusable groups and per-language thresholds;
                        `langid.sample_chars` against the whole text on every longer shared document
3. Wikipedia cleaning   bench/fidelity_wiki.py: articles with markup residue, per language
4. books                bench/fidelity_books.py: contents lists, annotations and markers removed; the body's first
                        and last 300 characters against the source
Each script also runs alone. Run nothing else beside it: the speed figures share the machine's cores.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    extraction = ["extraction.py", "--pipeline"] + (sys.argv[sys.argv.index("--run"):][:2] if "--run" in sys.argv
                                                    else [])
    failed = 0
    for title, command in (("1. HTML extraction", extraction), ("2. language ID", ["fidelity_langid.py"]),
                           ("3. Wikipedia cleaning", ["fidelity_wiki.py"]), ("4. books", ["fidelity_books.py"])):
        print(f"\n######## {title}: bench/{' '.join(command)}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / command[0]), *command[1:]], cwd=HERE.parent) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
