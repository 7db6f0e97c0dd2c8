"""Check every diagram under processes/ against BPMN 2.0 + SpiffWorkflow XSDs and parse each process.

Usage: python tools/validate_bpmn.py [FOLDER]   (exit 1 with the problems on failure)

Bindings (handlers, forms, lanes) are checked by ``netsign validate``, which
needs the application; this check needs only SpiffWorkflow.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.specs import DefinitionError, build_parser, read_directory  # noqa: E402


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "processes"
    sources = read_directory(folder)
    if not any(name.endswith(".bpmn") for name in sources):
        print(f"no BPMN files in {folder}")
        return 1
    try:
        parser = build_parser(sources)
        for process_id in parser.get_process_ids():
            parser.get_spec(process_id)
            parser.get_subprocess_specs(process_id)
            print(f"ok  {process_id}")
    except DefinitionError as err:
        print("\n".join(err.problems))
        return 1
    except Exception as err:  # a parse error of SpiffWorkflow's own
        print(f"{type(err).__name__}: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
