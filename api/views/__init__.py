"""API views: parse, authorise, call the services the pages call, serialise."""
