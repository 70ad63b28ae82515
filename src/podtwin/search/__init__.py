"""Search everything said: passages, a lexical (FTS5) and a dense (MiniLM) index, and their fusion."""
