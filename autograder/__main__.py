import sys

# jsonschema imports the optional "iri" format checker rfc3987_syntax when it is installed (it
# comes with Jupyter's own dependencies) and that builds a grammar at import: ~1.7 s on every
# start of this command. Nothing the instructor's commands validate uses that format.
sys.modules.setdefault("rfc3987_syntax", None)

from autograder.cli import main  # noqa: E402

sys.exit(main())
