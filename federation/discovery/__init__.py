"""Finding others: WebFinger, NodeInfo, actor and key fetches, handle and URI lookup."""
