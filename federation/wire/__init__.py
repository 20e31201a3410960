"""ActivityStreams on the wire: the only place AS JSON is built (serialize) or read (parse)."""
