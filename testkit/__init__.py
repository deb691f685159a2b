"""What tests/ and bench/ both use to exercise hyoka: hostile files, a fake OpenAI-compatible server,
and real PostgreSQL and Chroma servers started in a temporary folder. Not shipped with the package."""
