"""Hand-written adapters for formats that are not declarative (filled by the conversion work)."""
