"""zudu: its own tests (contract fixtures in fixtures/)."""
