//! Docker Engine API v1.41: the wire types and a typed client.
