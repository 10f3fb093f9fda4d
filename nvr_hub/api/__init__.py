"""The HTTP edge: middleware, access rules and the route table."""
