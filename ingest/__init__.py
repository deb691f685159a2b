"""file -> RawSheet -> records: knows sheet layouts, knows nothing of the index."""

# Bump when a reader's output changes, so that re-ingest re-parses unchanged files.
PARSER_VERSION = "3"
